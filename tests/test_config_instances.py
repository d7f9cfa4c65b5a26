"""Several instances of a kind: `[transports.<name>]` with `type = "<kind>"`; the kind defaults to the name."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from gateway.config import ConfigError, load_config
from gateway.transports.sms.settings import SmsSettings

SID_A, SID_B = "AC" + "a1" * 16, "AC" + "b2" * 16


def sms_table(name: str, jid: str, sid: str, kind: str | None = "sms") -> str:
    type_line = f'type = "{kind}"\n' if kind is not None else ""
    return (f'[transports.{name}]\n{type_line}jid = "{jid}"\nsecret = "component-secret"\n'
            f'account_sid = "{sid}"\nauth_token = "token-{sid[-4:]}"\n')


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def problems(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(path, {})
    return caught.value.problems


def test_two_sms_instances_each_with_its_own_account(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, sms_table("sms", "sms.example.org", SID_A, kind=None)
                               + sms_table("sms-work", "sms.work.example.org", SID_B)), {})

    assert list(config.transports) == ["sms", "sms-work"]
    assert config.kinds == {"sms": "sms", "sms-work": "sms"}
    assert config.instances("sms") == ["sms", "sms-work"]
    work = config.transports["sms-work"]
    assert isinstance(work, SmsSettings)
    assert (work.jid, work.account_sid) == ("sms.work.example.org", SID_B)
    assert config.kind("sms-work") == "sms"


def test_a_secret_of_an_instance_comes_from_its_own_environment_variable(tmp_path: Path) -> None:
    text = sms_table("sms-work", "sms.work.example.org", SID_B).replace(f'auth_token = "token-{SID_B[-4:]}"\n', "")
    config = load_config(write(tmp_path, text), {"XMPP_GATEWAY_TRANSPORTS_SMS_WORK_AUTH_TOKEN": "from-env"})
    settings = config.transports["sms-work"]
    assert isinstance(settings, SmsSettings) and settings.auth_token.get_secret_value() == "from-env"


def test_an_unknown_type_names_the_table_and_the_installed_kinds(tmp_path: Path) -> None:
    [problem] = problems(write(tmp_path, sms_table("texts", "sms.example.org", SID_A, kind="fax")))
    assert problem.startswith("transports.texts.type: no transport of type 'fax' is installed (known: ")
    assert "sms" in problem


def test_a_table_named_otherwise_without_type_is_told_to_give_one(tmp_path: Path) -> None:
    [problem] = problems(write(tmp_path, sms_table("texts", "sms.example.org", SID_A, kind=None)))
    assert problem.startswith("transports.texts: unknown transport 'texts' (known: ")
    assert 'type = "<kind>"' in problem


def test_two_instances_on_one_domain_are_refused(tmp_path: Path) -> None:
    [problem] = problems(write(tmp_path, sms_table("sms", "sms.example.org", SID_A)
                               + sms_table("sms-work", "sms.example.org", SID_B)))
    assert problem == ("transports.sms-work.jid: 'sms.example.org' is already the JID of transports.sms; each "
                       "transport needs its own domain")


@pytest.mark.parametrize("name", ["SMS", "9sms", "sms.work", "a" * 33])
def test_an_instance_name_must_fit_in_paths_and_variable_names(tmp_path: Path, name: str) -> None:
    [problem] = problems(write(tmp_path, sms_table(f'"{name}"', "sms.example.org", SID_A)))
    assert problem.startswith(f"transports.{name}: {name!r} is no transport name")


def test_the_type_must_be_a_string(tmp_path: Path) -> None:
    text = sms_table("texts", "sms.example.org", SID_A, kind=None).replace("[transports.texts]\n",
                                                                           "[transports.texts]\ntype = 1\n")
    [problem] = problems(write(tmp_path, text))
    assert problem.startswith("transports.texts.type: must be a transport kind")


def test_check_config_lists_each_instance_with_its_kind_and_exits_2_on_an_unknown_type(tmp_path: Path) -> None:
    good = write(tmp_path, sms_table("sms", "sms.example.org", SID_A, kind=None)
                 + sms_table("sms-work", "sms.work.example.org", SID_B))
    result = subprocess.run([sys.executable, "-m", "gateway", "check-config", "-c", str(good)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "transport sms: sms.example.org" in result.stdout
    assert "transport sms-work (type sms): sms.work.example.org" in result.stdout

    bad = write(tmp_path, sms_table("texts", "sms.example.org", SID_A, kind="fax"))
    result = subprocess.run([sys.executable, "-m", "gateway", "check-config", "-c", str(bad)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "transports.texts.type: no transport of type 'fax' is installed" in result.stderr
    assert "Traceback" not in result.stderr
