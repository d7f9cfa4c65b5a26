"""`xmpp-gateway admin sms ...` with two SMS transports: each command names the one it applies to, and a number
bound on one is not bound on the other."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gateway.cli import main
from gateway.devstack.ports import free_port
from tests.support.cli import Cli

SID_A, SID_B = "AC" + "a1" * 16, "AC" + "b2" * 16


def _config(tmp_path: Path, database_url: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(f"""
[database]
url = "{database_url}"

[transports.sms]
jid = "sms.example.org"
secret = "component-secret"
account_sid = "{SID_A}"
auth_token = "token-a"

[transports.sms-work]
type = "sms"
jid = "sms.work.example.org"
secret = "component-secret"
account_sid = "{SID_B}"
auth_token = "token-b"
default_region = "GB"
""")
    return path


def _run(capsys: pytest.CaptureFixture[str], config: Path, *args: str) -> tuple[int, str, str]:
    return Cli(config, capsys, prefix=("admin", "sms"))(*args)


def test_each_instance_has_its_own_bindings(tmp_path: Path, database_url: str,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    config = _config(tmp_path, database_url)
    assert main(["db", "upgrade", "-c", str(config)]) == 0

    assert _run(capsys, config, "bind", "alice@example.org", "+12025550100", "--transport", "sms")[0] == 0
    # Read with the GB region of sms-work's own settings.
    status, out, _ = _run(capsys, config, "bind", "alice@example.org", "020 7946 0958", "--transport", "sms-work")
    assert status == 0 and "bound +442079460958 to alice@example.org" in out

    def listed(instance: str) -> list[str]:
        status, out, _ = _run(capsys, config, "list", "--json", "--transport", instance)
        assert status == 0
        return [row["address"] for row in json.loads(out)]

    assert listed("sms") == ["+12025550100"]
    assert listed("sms-work") == ["+442079460958"]

    status, _, err = _run(capsys, config, "unbind", "alice@example.org", "+12025550100", "--transport", "sms-work")
    assert status == 1 and "+12025550100 is not bound to alice@example.org" in err
    assert listed("sms") == ["+12025550100"]


def test_with_several_the_instance_must_be_named(tmp_path: Path, database_url: str,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    config = _config(tmp_path, database_url)
    status, _, err = _run(capsys, config, "bind", "alice@example.org", "+12025550100")
    assert status == 2
    assert "configures several SMS transports (sms, sms-work): name one with --transport NAME" in err

    status, _, err = _run(capsys, config, "list", "--transport", "irc")
    assert status == 2
    assert "--transport irc: " in err and "has no SMS transport of that name (SMS transports: sms, sms-work)" in err


def test_the_sandbox_takes_the_account_of_the_named_instance(tmp_path: Path, database_url: str,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    config = _config(tmp_path, database_url)
    status = main(["sms-sandbox", "-c", str(config)])
    _, err = capsys.readouterr()
    assert status == 2 and "name one with --transport NAME" in err
    status = main(["sms-sandbox", "-c", str(config), "--transport", "sms-home"])
    _, err = capsys.readouterr()
    assert status == 2 and "--transport sms-home: " in err


def test_the_sandbox_of_an_instance_posts_to_that_instances_webhook(tmp_path: Path, database_url: str) -> None:
    config = _config(tmp_path, database_url)
    port = free_port()
    output = tmp_path / "out.log"
    with output.open("wb") as sink:
        process = subprocess.Popen([sys.executable, "-m", "gateway", "sms-sandbox", "-c", str(config),
                                    "--listen", f"127.0.0.1:{port}", "--transport", "sms-work"],
                                   stdout=sink, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 15
        while "SMS sandbox on" not in output.read_text() and time.monotonic() < deadline:
            assert process.poll() is None, output.read_text()
            time.sleep(0.05)
        assert "inbound texts go to http://127.0.0.1:8080/sms-work/inbound" in output.read_text()
    finally:
        process.terminate()
        process.wait(10)
