"""What a kill -9 in the middle of a flood repeats, with the gateway as its own process on real Prosody and ngircd.

Nothing the gateway journaled is lost either way. What comes twice is what the far side had received and the
journal had not yet marked: room messages to the XMPP user (the same stanza-id), and lines to the channel (IRC has
no ids). Before the delivery windows were bounded, a kill once half of a 2,000-line flood had arrived repeated
nearly all of it (1,200-1,700 room messages; 650-1,000 IRC lines); the bounds below are a few windows.
"""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bench.crash import CrashResult, irc_to_xmpp, xmpp_to_irc
from bench.irc_load import RawIrcLoad
from bench.xmpp_load import RawXmppClient
from gateway.devstack.ngircd import NgircdServer
from gateway.devstack.prosody import ProsodyServer
from gateway.store.batch import BatchWriter
from gateway.xmpp.outbox import AckedOutbox
from tests.e2e.irc.conftest import irc_config, room_jid
from tests.support.stack import GatewayProcess

LINES = 2000


class KillableGateway:
    """tests.support's GatewayProcess as bench.crash wants it: started, killed with SIGKILL, started again."""

    def __init__(self, raw: dict[str, Any], workdir: Path) -> None:
        self.database_url = raw["database"]["url"]
        networks = raw["transports"]["irc"].pop("networks")
        workdir.mkdir(exist_ok=True)
        self.process = GatewayProcess(raw, workdir)
        with self.process.config_path.open("a") as config:  # to_toml has no arrays of tables
            for network in networks:
                config.write("[[transports.irc.networks]]\n")
                config.writelines(f"{key} = {json.dumps(value)}\n" for key, value in network.items())

    async def start(self) -> None:
        await asyncio.to_thread(self.process.start)

    async def kill(self) -> None:
        self.process.signal(signal.SIGKILL)
        assert await asyncio.to_thread(self.process.wait) == -signal.SIGKILL

    async def stop(self) -> None:
        await asyncio.to_thread(self.process.stop)


@pytest.fixture
def gateway_process(prosody: ProsodyServer, ngircd: NgircdServer, tmp_path: Path) -> KillableGateway:
    # Flood control out of the way: what is measured is the journal and the XMPP stream, not the pacing.
    raw = irc_config(prosody, ngircd, f"sqlite:///{tmp_path / 'gateway.db'}", flood_burst=1_000_000,
                     flood_rate=1000.0, queue_size=1_000_000)
    return KillableGateway(raw, tmp_path / "gateway")


@pytest.fixture
async def member(prosody: ProsodyServer) -> AsyncIterator[RawXmppClient]:
    """An XMPP user on a raw client (slixmpp would take longer to parse the flood than the gateway to send it)."""
    prosody.register("flood", "flood-password")
    client = RawXmppClient("flood", prosody.domain, "flood-password")
    await client.login(prosody.c2s_port)
    yield client
    await client.close()


@pytest.fixture
async def observer(ngircd: NgircdServer) -> AsyncIterator[RawIrcLoad]:
    client = RawIrcLoad("observer")
    await client.connect(ngircd.port)
    yield client
    await client.close()


def check(result: CrashResult, bound: int) -> None:
    print(f"\n{result.describe()}")
    assert result.lost == 0, "something the gateway accepted never arrived"
    assert result.received == result.accepted
    assert result.repeated <= bound, f"{result.repeated} arrived twice (at most {bound} expected)"


async def test_a_kill_9_mid_irc_flood_repeats_at_most_a_few_windows_of_room_messages(
        gateway_process: KillableGateway, member: RawXmppClient, observer: RawIrcLoad) -> None:
    # At most WINDOW stanzas are on the stream unconfirmed, and their marks commit within milliseconds. The flood is
    # four windows, so that a kill once half of it arrived could repeat well above the bound.
    result = await irc_to_xmpp(gateway_process, member, observer, str(room_jid("#flood")), "#flood",
                               4 * AckedOutbox.WINDOW)
    check(result, int(1.5 * AckedOutbox.WINDOW))


async def test_a_kill_9_mid_xmpp_flood_sends_at_most_a_few_batches_of_lines_twice(
        gateway_process: KillableGateway, member: RawXmppClient, observer: RawIrcLoad) -> None:
    # A line goes out, then its SENT is written: what was written and not yet committed goes out again after the
    # restart (IRC has no ids to tell). The outcome goes ahead of the backlog into a transaction of at most
    # MAX_BATCH writes, so only the lines of about two transactions are in that state at any time.
    result = await xmpp_to_irc(gateway_process, member, observer, str(room_jid("#flood")), "#flood", LINES)
    check(result, int(4 * BatchWriter.MAX_BATCH))
