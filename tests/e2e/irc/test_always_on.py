"""Always-on IRC presence through real Prosody and ngircd: a user who turned it on stays in their channels (the
IRC server still lists their nick) while no resource of theirs is in the rooms; what is said meanwhile is in MAM
and in the history of their next join; a restart joins the kept channels again; turned off (the default), leaving
a room leaves its channel as before."""

from __future__ import annotations

import asyncio
from pathlib import Path

from gateway.devstack.ngircd import NgircdServer, RawIrcClient
from gateway.devstack.prosody import ProsodyServer
from gateway.store.store import Store
from tests.e2e.irc.conftest import IRC, NETWORK, irc_config, room_jid
from tests.e2e.irc.test_room_archive import archived, mam_client
from tests.e2e.irc.test_rooms import groupchat
from tests.support.stack import start_gateway, wait_until
from tests.support.xmpp_client import TestClient


async def command(client: TestClient, text: str) -> str:
    client.send_message(mto=IRC, mbody=text, mtype="chat")
    reply = await client.next_message(10, lambda m: str(m["from"]) == IRC and bool(m["body"]))
    return str(reply["body"])


async def in_names(irc: RawIrcClient, channel: str, nick: str) -> bool:
    """Whether the IRC server lists `nick` in `channel` (NAMES)."""
    await irc.send(f"NAMES {channel}")
    names: list[str] = []
    while True:
        line = await irc.expect(lambda line: line.command in ("353", "366"), timeout=5)
        if line.command == "366":
            return nick in names
        names += [name.lstrip("@+") for name in line.param(-1).split()]


async def kept(url: str) -> list[tuple[str, str, str]]:
    store = await Store.open(url)
    try:
        return [(k.user, k.network, k.channel) for k in await store.irc.kept_channels(transport="irc")]
    finally:
        await store.close()


async def test_a_line_said_while_away_is_in_mam_and_the_next_join_s_history_and_a_restart_keeps_the_channel(
        prosody: ProsodyServer, ngircd: NgircdServer, tmp_path: Path, sqlite_url: str, bob: RawIrcClient) -> None:
    config = irc_config(prosody, ngircd, sqlite_url)
    first = await start_gateway(config, tmp_path)
    stopped = False
    alice = await mam_client(prosody, "alice")
    assert first.store is not None
    await first.store.users.add("alice@localhost")
    try:
        assert "Always on" in await command(alice, f"irc-always-on {NETWORK} on")
        await bob.join("#away")
        await alice.plugin["xep_0045"].join_muc_wait(room_jid("#away"), "alice", maxstanzas=0, timeout=10)
        await bob.expect(lambda line: line.command == "JOIN" and line.nick == "alice", timeout=10)
        await alice.stop()  # offline: her server tells the room she is gone

        await wait_until(lambda: _kept_is(sqlite_url, [("alice@localhost", NETWORK, "#away")]), timeout=10)
        assert await in_names(bob, "#away", "alice"), "still in the channel on IRC"
        await bob.send("PRIVMSG #away :said while you were away")

        alice = await mam_client(prosody, "alice", "back")
        found = []
        for _ in range(50):  # the line is journaled a moment after bob said it
            found = [m async for m in alice.plugin["xep_0313"].iterate(jid=room_jid("#away"), rsm={"max": 10})]
            if found:
                break
            await _pause()
        assert [(nick, body) for _, nick, body in archived(found)] == [("bob", "said while you were away")]
        _, _, _, history = await alice.plugin["xep_0045"].join_muc_wait(room_jid("#away"), "alice", timeout=10)
        assert [m["body"] for m in history] == ["said while you were away"]
        assert history[0]["delay"]["stamp"] is not None
        await bob.send("PRIVMSG #away :live again")
        await alice.next_message(10, groupchat("live again"))
        assert await kept(sqlite_url) == [], "back in the room: nothing kept apart"

        alice.plugin["xep_0045"].leave_muc(room_jid("#away"), "alice")
        await wait_until(lambda: _kept_is(sqlite_url, [("alice@localhost", NETWORK, "#away")]), timeout=10)
        await first.stop()
        stopped = True
        await bob.expect(lambda line: line.command == "QUIT" and line.nick == "alice", timeout=10)

        second = await start_gateway(config, tmp_path)
        try:
            await bob.expect(lambda line: line.command == "JOIN" and line.nick == "alice", timeout=10)
            await bob.send("PRIVMSG #away :said after the restart")
            for _ in range(50):
                found = [m async for m in alice.plugin["xep_0313"].iterate(jid=room_jid("#away"), rsm={"max": 10})]
                if len(found) == 3:
                    break
                await _pause()
            assert [body for _, _, body in archived(found)][-1] == "said after the restart"
        finally:
            await second.stop()
    finally:
        await alice.stop()
        if not stopped:
            await first.stop()


async def test_without_always_on_leaving_the_room_leaves_the_channel_and_turning_it_off_leaves_kept_ones(
        prosody: ProsodyServer, ngircd: NgircdServer, tmp_path: Path, sqlite_url: str, bob: RawIrcClient) -> None:
    gateway = await start_gateway(irc_config(prosody, ngircd, sqlite_url), tmp_path)
    alice = await mam_client(prosody, "alice")
    assert gateway.store is not None
    await gateway.store.users.add("alice@localhost")
    try:
        await bob.join("#plain")
        await alice.plugin["xep_0045"].join_muc_wait(room_jid("#plain"), "alice", maxstanzas=0, timeout=10)
        await bob.expect(lambda line: line.command == "JOIN" and line.nick == "alice", timeout=10)
        alice.plugin["xep_0045"].leave_muc(room_jid("#plain"), "alice")
        await bob.expect(lambda line: line.command == "PART" and line.nick == "alice", timeout=10)
        irc = gateway.transports["irc"]
        await wait_until(lambda: irc.sessions.get("alice@localhost", NETWORK) is None,  # type: ignore[attr-defined]
                         timeout=5)  # the connection closes after the grace period

        await command(alice, f"irc-always-on {NETWORK} on")
        await alice.plugin["xep_0045"].join_muc_wait(room_jid("#plain"), "alice", maxstanzas=0, timeout=10)
        await bob.expect(lambda line: line.command == "JOIN" and line.nick == "alice", timeout=10)
        alice.plugin["xep_0045"].leave_muc(room_jid("#plain"), "alice")
        await wait_until(lambda: _kept_is(sqlite_url, [("alice@localhost", NETWORK, "#plain")]), timeout=10)
        assert await in_names(bob, "#plain", "alice")
        assert "#plain" in await command(alice, f"irc-always-on {NETWORK} off")
        await bob.expect(lambda line: line.command == "PART" and line.nick == "alice", timeout=10)
        assert await kept(sqlite_url) == []
    finally:
        await alice.stop()
        await gateway.stop()


async def _kept_is(url: str, expected: list[tuple[str, str, str]]) -> bool:
    return await kept(url) == expected


async def _pause() -> None:
    await asyncio.sleep(0.1)
