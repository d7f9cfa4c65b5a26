"""`xmpp-gateway admin sms ...` on both databases: only admins bind numbers, and bad input is refused clearly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gateway.cli import main
from tests.support.cli import Cli

SID = "AC" + "ab" * 16


def _config(tmp_path: Path, database_url: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(f"""
[database]
url = "{database_url}"

[transports.sms]
jid = "sms.example.org"
secret = "component-secret"
account_sid = "{SID}"
auth_token = "token"
default_region = "GB"
""")
    return path


def _run(capsys: pytest.CaptureFixture[str], config: Path, *args: str) -> tuple[int, str, str]:
    return Cli(config, capsys, prefix=("admin", "sms"))(*args)


def test_bind_list_unbind_round_trip(tmp_path: Path, database_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    config = _config(tmp_path, database_url)
    assert main(["db", "upgrade", "-c", str(config)]) == 0

    status, out, _ = _run(capsys, config, "bind", "alice@example.org", "020 7946 0958")  # national, GB region
    assert status == 0
    assert "added user alice@example.org" in out
    assert "bound +442079460958 to alice@example.org (default)" in out
    assert _run(capsys, config, "bind", "alice@example.org", "+1 202 555 0100", "--default")[0] == 0
    assert _run(capsys, config, "bind", "bob@example.org", "+12025550100")[0] == 0  # a shared line

    status, out, _ = _run(capsys, config, "list", "--json")
    assert status == 0
    assert json.loads(out) == [
        {"jid": "alice@example.org", "address": "+12025550100", "is_default": True},
        {"jid": "alice@example.org", "address": "+442079460958", "is_default": False},
        {"jid": "bob@example.org", "address": "+12025550100", "is_default": True},
    ]
    status, out, _ = _run(capsys, config, "list", "bob@example.org")
    assert status == 0 and "+12025550100" in out and "alice" not in out

    status, out, _ = _run(capsys, config, "unbind", "alice@example.org", "+12025550100")
    assert status == 0 and "unbound +12025550100 from alice@example.org" in out
    status, out, _ = _run(capsys, config, "list", "alice@example.org", "--json")
    assert json.loads(out) == [{"jid": "alice@example.org", "address": "+442079460958", "is_default": True}]


def test_refusals_say_why(tmp_path: Path, sqlite_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    config = _config(tmp_path, sqlite_url)
    assert main(["db", "upgrade", "-c", str(config)]) == 0
    assert _run(capsys, config, "bind", "alice@example.org", "+12025550100")[0] == 0

    status, _, err = _run(capsys, config, "bind", "alice@example.org", "+12025550100")
    assert status == 1 and "+12025550100 is already bound to alice@example.org" in err
    status, _, err = _run(capsys, config, "bind", "alice@example.org", "not a number")
    assert status == 1 and "not a number" in err
    status, _, err = _run(capsys, config, "bind", "alice@example.org/phone", "+12025550100")
    assert status == 1 and "bare JID" in err
    status, _, err = _run(capsys, config, "unbind", "alice@example.org", "+12025550199")
    assert status == 1 and "+12025550199 is not bound to alice@example.org" in err
    status, _, err = _run(capsys, config, "block", "nobody@example.org", "+12025550199")
    assert status == 1 and "nobody@example.org is not a user" in err


def test_block_and_unblock(tmp_path: Path, sqlite_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    config = _config(tmp_path, sqlite_url)
    assert main(["db", "upgrade", "-c", str(config)]) == 0
    assert _run(capsys, config, "bind", "alice@example.org", "+12025550100")[0] == 0

    status, out, _ = _run(capsys, config, "block", "alice@example.org", "+1 202-555-0123")
    assert status == 0 and "no longer receives texts from +12025550123" in out
    status, out, _ = _run(capsys, config, "unblock", "alice@example.org", "+12025550123")
    assert status == 0 and "receives texts from +12025550123 again" in out
    status, _, err = _run(capsys, config, "unblock", "alice@example.org", "+12025550123")
    assert status == 1 and "has not blocked +12025550123" in err
