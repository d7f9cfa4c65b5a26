"""A component domain the XMPP server does not declare: one clear line per attempt, no traceback, and the other
components work on."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from gateway.app import Gateway
from gateway.config import parse_config
from gateway.devstack.ports import free_port
from gateway.devstack.prosody import ProsodyServer
from tests.support.stack import LOOPBACK, LOOPBACK_SECRET, raw_config
from tests.support.xmpp_client import TestClient


async def test_an_undeclared_domain_logs_one_line_per_attempt_and_no_traceback(
        prosody: ProsodyServer, alice: TestClient, tmp_path: Path, sqlite_url: str,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    raw = raw_config(component_port=prosody.component_port, http_port=free_port(), database_url=sqlite_url,
                     transports={"loopback": {"jid": LOOPBACK, "secret": LOOPBACK_SECRET, "access": "open"},
                                 "irc": {"jid": "undeclared.localhost", "secret": "s", "access": "open"}})
    gateway = Gateway(parse_config(raw, tmp_path / "config.toml", {}))
    await gateway.start()
    try:
        assert await gateway.components["loopback"].wait_connected(10)
        alice.send_message(mto=f"echo@{LOOPBACK}", mbody="the others work on", mtype="chat")
        await alice.next_message(10, lambda m: m["body"] == "the others work on")
        await asyncio.sleep(3.5)  # attempts after about 0, 1 and 3 s
    finally:
        await gateway.stop()
    attempts = [r.getMessage() for r in caplog.records
                if r.name == "gateway.xmpp.component" and "undeclared.localhost" in r.getMessage()]
    assert len(attempts) >= 2
    assert all("host-unknown" in line and "does not know this component domain" in line for line in attempts)
    assert [r.getMessage() for r in caplog.records if r.exc_info] == []  # slixmpp's send queue logged one each
