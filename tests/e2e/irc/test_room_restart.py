"""Room memberships outlive the gateway process: a stop tells occupants (332), the next start brings them back
without any action of theirs, a resource gone meanwhile is let go, and XEP-0410 self-pings tell the truth."""

from __future__ import annotations

from pathlib import Path

import pytest
from slixmpp import JID
from slixmpp.exceptions import IqError

from gateway.app import Gateway
from gateway.devstack.ngircd import NgircdServer, RawIrcClient
from gateway.devstack.prosody import ProsodyServer
from gateway.store.store import Store
from tests.e2e.irc.conftest import irc_config, muc_client, room_jid
from tests.e2e.irc.support import Presences
from tests.e2e.irc.test_rooms import codes, groupchat, join
from tests.support.stack import start_gateway, wait_until
from tests.support.xmpp_client import TestClient


def occupant(channel: str, nick: str) -> JID:
    return JID(f"{room_jid(channel)}/{nick}")


def joined(line: object, nick: str) -> bool:
    return line.command == "JOIN" and line.nick == nick  # type: ignore[attr-defined]


async def stored(url: str) -> list[tuple[str, str, str]]:
    store = await Store.open(url)
    try:
        return [(m.user, m.room, m.nick) for m in await store.rooms.memberships("irc")]
    finally:
        await store.close()


async def test_a_stop_says_332_and_the_next_start_brings_the_user_back_by_itself(
        prosody: ProsodyServer, ngircd: NgircdServer, tmp_path: Path, sqlite_url: str, alice: TestClient,
        bob: RawIrcClient) -> None:
    config = irc_config(prosody, ngircd, sqlite_url)
    presences = Presences(alice)
    first = await start_gateway(config, tmp_path)
    await bob.join("#back")
    await join(alice, "#back", "alice")
    await bob.expect(lambda line: joined(line, "alice"), timeout=10)
    await first.stop()
    gone = await presences.next(lambda p: p["from"] == occupant("#back", "alice") and p["type"] == "unavailable")
    assert {"110", "332"} <= codes(gone)
    assert await stored(sqlite_url) == [("alice@localhost", "#back%test", "alice")]

    second = await start_gateway(config, tmp_path)
    try:
        back = await presences.next(lambda p: p["from"] == occupant("#back", "alice") and p["type"] != "unavailable")
        assert "110" in codes(back)  # alice did nothing: the gateway brought her back
        await bob.expect(lambda line: joined(line, "alice"), timeout=10)
        await bob.send("PRIVMSG #back :welcome back")
        await alice.next_message(10, groupchat("welcome back"))
    finally:
        await second.stop()


async def test_a_resource_gone_while_the_gateway_was_down_is_let_go(
        prosody: ProsodyServer, ngircd: NgircdServer, tmp_path: Path, sqlite_url: str, bob: RawIrcClient) -> None:
    config = irc_config(prosody, ngircd, sqlite_url)
    first = await start_gateway(config, tmp_path)
    carol = await muc_client(prosody, "carol")
    await bob.join("#gone")
    await join(carol, "#gone", "carol")
    await bob.expect(lambda line: joined(line, "carol"), timeout=10)
    await first.stop()
    await carol.stop()  # offline while the gateway is down: the restore's presences reach nobody
    second = await start_gateway(config, tmp_path)
    try:
        await bob.expect(lambda line: joined(line, "carol"), timeout=10)  # restored...
        # ... until her server bounces the room's first message to the resource: then she is out, and parts.
        await bob.expect(lambda line: line.command in ("PART", "QUIT") and line.nick == "carol", timeout=10)
        await wait_until(lambda: _empty(sqlite_url), timeout=5)
    finally:
        await second.stop()


async def _empty(url: str) -> bool:
    return await stored(url) == []


async def test_a_room_that_refuses_the_rejoin_says_why(
        prosody: ProsodyServer, ngircd: NgircdServer, tmp_path: Path, sqlite_url: str, alice: TestClient,
        bob: RawIrcClient) -> None:
    config = irc_config(prosody, ngircd, sqlite_url)
    presences = Presences(alice)
    first = await start_gateway(config, tmp_path)
    await bob.join("#locked")  # bob is the channel's operator
    await join(alice, "#locked", "alice")
    await first.stop()
    await bob.send("MODE #locked +i")  # invite only while the gateway was down
    await bob.expect_command("MODE")
    second = await start_gateway(config, tmp_path)
    try:
        out = await presences.next(lambda p: p["from"] == occupant("#locked", "alice") and "333" in codes(p))
        assert out["type"] == "unavailable"
        reason = out.xml.findtext("{http://jabber.org/protocol/muc#user}x/{http://jabber.org/protocol/muc#user}item/"
                                  "{http://jabber.org/protocol/muc#user}reason")
        assert reason is not None and reason.startswith("Could not rejoin the room after the gateway restarted")
        await wait_until(lambda: _empty(sqlite_url), timeout=5)
    finally:
        await second.stop()


async def test_a_self_ping_answers_result_only_for_a_joined_occupant(
        gateway: Gateway, prosody: ProsodyServer, alice: TestClient, bob: RawIrcClient) -> None:
    await bob.join("#ping")
    await join(alice, "#ping", "alice")
    ping = alice.plugin["xep_0199"]
    await ping.send_ping(occupant("#ping", "alice"), timeout=5)  # joined: result
    with pytest.raises(IqError) as other:
        await ping.send_ping(occupant("#ping", "bob"), timeout=5)
    assert other.value.condition == "service-unavailable"  # still joined, by XEP-0410's reading
    dave = await muc_client(prosody, "dave")
    try:
        with pytest.raises(IqError) as stranger:  # answered result before, for every JID
            await dave.plugin["xep_0199"].send_ping(occupant("#ping", "alice"), timeout=5)
        assert stranger.value.condition == "not-acceptable"
    finally:
        await dave.stop()
    alice.plugin["xep_0045"].leave_muc(room_jid("#ping"), "alice")
    await bob.expect(lambda line: line.command == "PART" and line.nick == "alice", timeout=10)
    with pytest.raises(IqError) as left:
        await ping.send_ping(occupant("#ping", "alice"), timeout=5)
    assert left.value.condition == "not-acceptable"
