"""Archiving switched off by the admin for a channel: its lines are still journaled and delivered live, but leave no
archive row (no stanza-id stored), MAM returns nothing for it and the room does not advertise MAM."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.devstack.ngircd import NgircdServer, RawIrcClient
from gateway.devstack.prosody import ProsodyServer
from tests.e2e.irc.conftest import NETWORK, irc_config, room_jid
from tests.e2e.irc.test_always_on import command
from tests.e2e.irc.test_room_archive import archived, mam_client
from tests.e2e.irc.test_rooms import groupchat
from tests.support.stack import start_gateway, wait_until


async def test_a_channel_without_archive_delivers_live_and_keeps_no_archive_row(
        prosody: ProsodyServer, ngircd: NgircdServer, tmp_path: Path, sqlite_url: str, bob: RawIrcClient) -> None:
    gateway = await start_gateway(irc_config(prosody, ngircd, sqlite_url, no_archive=[f"#Secret%{NETWORK}"]),
                                  tmp_path)
    alice = await mam_client(prosody, "alice")
    try:
        for channel in ("#secret", "#open"):
            await bob.join(channel)
            await alice.plugin["xep_0045"].join_muc_wait(room_jid(channel), "alice", maxstanzas=0, timeout=10)
            await bob.expect(lambda line: line.command == "JOIN" and line.nick == "alice", timeout=10)
            await bob.send(f"PRIVMSG {channel} :said in {channel}")
            await alice.next_message(10, groupchat(f"said in {channel}"))
            alice.send_message(mto=room_jid(channel), mbody=f"alice in {channel}", mtype="groupchat")
            await alice.next_message(10, groupchat(f"alice in {channel}"))  # the reflection
            said = f"alice in {channel}"
            await bob.expect(lambda line, said=said: line.command == "PRIVMSG" and line.param(-1) == said)

        assert gateway.store is not None
        engine = gateway.store.engine

        async def rows(peer: str) -> list[tuple[str, str | None]]:
            async with engine.connect() as connection:
                return [(r.body, r.stanza_id) for r in await connection.execute(
                    text("SELECT body, stanza_id FROM journal WHERE peer = :peer ORDER BY id"), {"peer": peer})]

        await wait_until(lambda: _settled(engine), timeout=10)
        assert [body for body, _ in await rows(f"#secret%{NETWORK}")] == ["said in #secret", "alice in #secret"]
        assert [stanza for _, stanza in await rows(f"#secret%{NETWORK}")] == [None, None], "journaled, not archived"
        assert all(stanza for _, stanza in await rows(f"#open%{NETWORK}"))

        secret = [m async for m in alice.plugin["xep_0313"].iterate(jid=room_jid("#secret"), rsm={"max": 10})]
        assert secret == []
        opened = [m async for m in alice.plugin["xep_0313"].iterate(jid=room_jid("#open"), rsm={"max": 10})]
        assert [body for _, _, body in archived(opened)] == ["said in #open", "alice in #open"]
        info = await alice.plugin["xep_0030"].get_info(jid=room_jid("#secret"), timeout=5)
        assert "urn:xmpp:mam:2" not in info["disco_info"]["features"]
    finally:
        await alice.stop()
        await gateway.stop()


async def _settled(engine: AsyncEngine) -> bool:
    async with engine.connect() as connection:
        open_rows = (await connection.execute(text(
            "SELECT count(*) FROM journal WHERE status IN ('pending', 'accepted', 'sending')"))).scalar()
    return open_rows == 0


async def test_a_user_wipes_their_archive_of_a_room_after_a_confirmation(
        prosody: ProsodyServer, ngircd: NgircdServer, tmp_path: Path, sqlite_url: str, bob: RawIrcClient) -> None:
    gateway = await start_gateway(irc_config(prosody, ngircd, sqlite_url), tmp_path)
    alice = await mam_client(prosody, "alice")
    assert gateway.store is not None
    await gateway.store.users.add("alice@localhost")
    try:
        await bob.join("#wipe")
        await alice.plugin["xep_0045"].join_muc_wait(room_jid("#wipe"), "alice", maxstanzas=0, timeout=10)
        await bob.expect(lambda line: line.command == "JOIN" and line.nick == "alice", timeout=10)
        await bob.send("PRIVMSG #wipe :to be forgotten")
        await alice.next_message(10, groupchat("to be forgotten"))
        await wait_until(lambda: _settled(gateway.store.engine), timeout=10)  # type: ignore[union-attr]

        asked = await command(alice, f"irc-forget-history #wipe%{NETWORK}")
        assert "1 line(s)" in asked and "confirm" in asked
        assert len([m async for m in alice.plugin["xep_0313"].iterate(jid=room_jid("#wipe"))]) == 1
        assert "Deleted 1 line(s)" in await command(alice, f"irc-forget-history #wipe%{NETWORK} yes")
        assert [m async for m in alice.plugin["xep_0313"].iterate(jid=room_jid("#wipe"))] == []
        _, _, _, history = await alice.plugin["xep_0045"].join_muc_wait(room_jid("#wipe"), "alice", timeout=10)
        assert history == []
    finally:
        await alice.stop()
        await gateway.stop()
