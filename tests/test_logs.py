"""logs.py: readable lines or JSON lines, and every configured secret masked in both."""

from __future__ import annotations

import json
import logging
import os
import selectors
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.config import parse_config
from gateway.devstack.ports import free_port
from gateway.logs import MASK, setup_logging

SECRET = "s3cret-Token-42"
log = logging.getLogger("gateway.test_logs")


@pytest.fixture(autouse=True)
def restore_root_logger() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def _fail_with(secret: str) -> None:
    raise RuntimeError(f"the server refused {secret}")


def test_text_lines_mask_secrets_in_messages_and_tracebacks(capsys: pytest.CaptureFixture[str]) -> None:
    setup_logging("info", secrets=[SECRET])
    log.info("connecting with %s", SECRET)
    try:
        _fail_with(SECRET)
    except RuntimeError:
        log.exception("could not connect")

    err = capsys.readouterr().err
    assert SECRET not in err
    lines = err.splitlines()
    assert lines[0].endswith(f"INFO    gateway.test_logs: connecting with {MASK}")
    assert "ERROR   gateway.test_logs: could not connect" in lines[1]
    assert "Traceback (most recent call last):" in err
    assert f"RuntimeError: the server refused {MASK}" in err


def test_json_lines_mask_secrets_in_messages_and_tracebacks(capsys: pytest.CaptureFixture[str]) -> None:
    quoted = 'pa"ss\\word'  # JSON escapes it: the mask must still find it
    setup_logging("info", json_format=True, secrets=[SECRET, quoted])
    log.warning("tokens %s and %s", SECRET, quoted)
    try:
        _fail_with(quoted)
    except RuntimeError:
        log.exception("failed with %s", SECRET)

    err = capsys.readouterr().err
    first, second = (json.loads(line) for line in err.splitlines())
    assert first["level"] == "warning" and first["logger"] == "gateway.test_logs"
    assert first["message"] == f"tokens {MASK} and {MASK}"
    assert second["message"] == f"failed with {MASK}"
    assert second["exception"].endswith(f"RuntimeError: the server refused {MASK}")
    assert SECRET not in err and "ss\\\\word" not in err


def test_the_level_filters_lines(capsys: pytest.CaptureFixture[str]) -> None:
    setup_logging("warning")
    log.info("quiet")
    log.warning("loud")
    err = capsys.readouterr().err
    assert "quiet" not in err and "loud" in err


def test_the_config_hands_its_secrets_to_the_masks(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = parse_config({"database": {"url": "postgres://gw:db-Password-9@db/gateway"},
                           "transports": {"loopback": {"jid": "loopback.example.org", "secret": SECRET}}},
                          tmp_path / "config.toml", {})
    setup_logging("info", secrets=config.secrets())
    log.info("opening %s", config.database.sqlalchemy_url)
    log.info("component secret %s", SECRET)

    err = capsys.readouterr().err
    assert "db-Password-9" not in err and SECRET not in err
    assert err.count(MASK) == 2


# -- the real command --------------------------------------------------------------------------------------
JID = "loopback.example.org"


def _run_until_started(args: list[str], cwd: Path, deadline: float = 20) -> list[str]:
    """Start `xmpp-gateway run` and collect its log lines until it has started; then kill it.

    Killed, not stopped: these tests are about the lines, and a stop right after the start can hang (the
    journal purge is cancelled mid-query and never awaited; see app.py).
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("XMPP_GATEWAY_")}
    process = subprocess.Popen([sys.executable, "-m", "gateway", "run", *args], cwd=cwd, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert process.stderr is not None
    output = b""
    end = time.monotonic() + deadline
    try:
        with selectors.DefaultSelector() as selector:
            selector.register(process.stderr, selectors.EVENT_READ)
            while b"gateway started" not in output.rpartition(b"\n")[0] and time.monotonic() < end:
                if selector.select(timeout=max(0.0, end - time.monotonic())):
                    chunk = os.read(process.stderr.fileno(), 65536)
                    if not chunk:
                        break
                    output += chunk
    finally:
        process.kill()
        process.communicate(timeout=20)
    lines = output.rpartition(b"\n")[0].decode().splitlines()  # complete lines only
    assert any("gateway started" in line for line in lines), lines
    return lines


@pytest.mark.parametrize(("log_table", "flag", "as_json"), [
    ("", [], False),
    ("", ["--log-json"], True),
    ('[log]\nformat = "json"\n', [], True),
])
def test_run_logs_text_or_json_with_secrets_masked(tmp_path: Path, log_table: str, flag: list[str],
                                                   as_json: bool) -> None:
    # Nothing listens on the component port, so the component logs its JID in every retry line; the secret is
    # that JID here, so that the masks have something to find in what `run` itself logs.
    config = tmp_path / "config.toml"
    config.write_text(f"""
[xmpp]
component_port = {free_port()}
[database]
url = "sqlite:///gateway.db"
[http]
listen = "127.0.0.1:{free_port()}"
{log_table}
[transports.loopback]
jid = "{JID}"
secret = "{JID}"
""")
    lines = _run_until_started(["-c", str(config), *flag], tmp_path)

    assert not any(JID in line for line in lines), lines
    assert any(MASK in line for line in lines), lines
    if as_json:
        entries = [json.loads(line) for line in lines]
        assert {"time", "level", "logger", "message"} <= entries[0].keys()
        assert any(e["logger"] == "gateway.app" and e["message"].startswith(f"gateway started: {MASK};")
                   for e in entries)
    else:
        assert not lines[0].startswith("{")
        assert any(f"INFO    gateway.app: gateway started: {MASK}" in line for line in lines), lines
