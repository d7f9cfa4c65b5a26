"""A change made by `xmpp-gateway admin user ...` in another process reaches a running gateway within 2 s."""

from __future__ import annotations

import asyncio
import itertools
import os
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from slixmpp import Message

from gateway.app import Gateway
from gateway.devstack.ports import free_port
from gateway.devstack.prosody import ProsodyServer
from tests.support.stack import LOOPBACK, LOOPBACK_SECRET, raw_config, start_gateway, to_toml
from tests.support.xmpp_client import TestClient

ECHO = f"echo@{LOOPBACK}"
WITHIN = 2.0  # seconds: DESIGN.md's promise for changes made by the CLI
_ids = itertools.count()


@pytest.fixture
async def closed_gateway(prosody: ProsodyServer, tmp_path: Path, sqlite_url: str
                         ) -> AsyncIterator[tuple[Gateway, Path]]:
    """The loopback transport with access = "closed", and a config file the CLI can use on the same database."""
    raw = raw_config(component_port=prosody.component_port, http_port=free_port(), database_url=sqlite_url,
                     transports={"loopback": {"jid": LOOPBACK, "secret": LOOPBACK_SECRET, "access": "closed"}})
    config = tmp_path / "cli.toml"
    config.write_text(to_toml(raw))
    running = await start_gateway(raw, tmp_path)
    yield running, config
    await running.stop()


async def admin(config: Path, *args: str) -> str:
    """`python -m gateway admin ...` in its own process, as an admin types it; its output."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("XMPP_GATEWAY_")}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "gateway", "admin", *args, "-c", str(config), env=env, cwd=config.parent,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, err.decode()
    return out.decode()


async def send(client: TestClient, body: str) -> Message:
    """Send `body` to the echo address; the echo (a new message with the same body) or the error that comes back."""
    serial = next(_ids)
    stanza_id, body = f"live-{serial}", f"{body} {serial}"
    message = client.make_message(mto=ECHO, mbody=body, mtype="chat")
    message["id"] = stanza_id
    message.send()
    return await client.next_message(predicate=lambda m: m["id"] == stanza_id or m["body"] == body)


def outcome(reply: Message) -> str:
    """'echoed', or the error condition."""
    assert str(reply["from"]) == ECHO, reply
    if reply["type"] == "error":
        return str(reply["error"]["condition"])
    assert reply["type"] == "chat", reply
    return "echoed"


async def lag(client: TestClient, config: Path, command: tuple[str, ...], printed: str, expected: str) -> float:
    """Run an admin command while sending a message every 100 ms (so the gateway's cache is always fresh); the
    seconds from the command's exit to the first reply that is `expected` (0 if one came before the exit)."""
    exited: float | None = None

    async def run() -> None:
        nonlocal exited
        assert await admin(config, *command) == printed
        exited = time.monotonic()

    task = asyncio.create_task(run())
    try:
        while True:
            result = outcome(await send(client, "ping"))
            now = time.monotonic()
            if result == expected:
                break
            if exited is not None:
                assert now - exited < 3 * WITHIN, f"still {result!r} {now - exited:.1f} s after {command}"
            elif task.done():
                task.result()  # the command failed: say how
            await asyncio.sleep(0.1)
        await task
    finally:
        task.cancel()
    assert exited is not None
    return max(0.0, now - exited)


async def test_cli_changes_reach_a_running_gateway(closed_gateway: tuple[Gateway, Path], alice: TestClient
                                                   ) -> None:
    _, config = closed_gateway
    assert outcome(await send(alice, "hello?")) == "registration-required"  # a stranger

    added = await lag(alice, config, ("user", "add", "alice@localhost"), "added alice@localhost for loopback\n",
                      "echoed")
    disabled = await lag(alice, config, ("user", "disable", "alice@localhost"), "alice@localhost is disabled\n",
                         "forbidden")
    enabled = await lag(alice, config, ("user", "enable", "alice@localhost"), "alice@localhost is enabled\n",
                        "echoed")

    print(f"\nseen by the running gateway after the command exited: add {added:.2f} s, disable {disabled:.2f} s, "
          f"enable {enabled:.2f} s")
    assert max(added, disabled, enabled) < WITHIN
