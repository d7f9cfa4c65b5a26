"""The network's side: a server restart surfaces as the room coming back, a nick in use is told, raw commands
are for admins only."""

from __future__ import annotations

from pathlib import Path

from gateway.devstack.ngircd import NgircdServer, RawIrcClient
from gateway.devstack.prosody import ProsodyServer
from tests.e2e.irc.conftest import IRC, NETWORK, irc_config, room_jid
from tests.e2e.irc.test_room_changes import watch_presences
from tests.e2e.irc.test_rooms import codes, join
from tests.support.stack import start_gateway
from tests.support.xmpp_client import TestClient

NETWORK_JID = f"{NETWORK}@{IRC}"


async def test_nick_in_use_is_told_and_an_alternate_used(gateway: object, alice: TestClient,
                                                         irc_clients: list[RawIrcClient], ngircd: NgircdServer
                                                         ) -> None:
    squatter = await RawIrcClient.connect(ngircd.port)
    irc_clients.append(squatter)
    await squatter.register("alice")
    await squatter.join("#taken")
    presence, *_ = await join(alice, "#taken", "alice")
    assert presence["from"].resource == "alice_"
    assert {"110", "210"} <= codes(presence)  # 210: the service changed the nick
    told = await alice.next_message(10, lambda m: m["from"] == NETWORK_JID and "in use" in m["body"])
    assert "alice_" in told["body"]


async def test_server_restart_the_room_comes_back(prosody: ProsodyServer, ngircd: NgircdServer, tmp_path: Path,
                                                  sqlite_url: str, alice: TestClient) -> None:
    running = await start_gateway(irc_config(prosody, ngircd, sqlite_url), tmp_path)
    try:
        await join(alice, "#phoenix", "alice")
        import asyncio

        presences: asyncio.Queue = asyncio.Queue()  # type: ignore[type-arg]
        watch_presences(alice, presences)
        ngircd.restart()
        lost = await alice.next_message(15, lambda m: m["type"] == "groupchat" and "reconnecting" in m["body"])
        assert lost["from"] == room_jid("#phoenix")
        while True:  # the self-presence again once the gateway reconnected and rejoined by itself
            p = await asyncio.wait_for(presences.get(), 30)
            if p["from"].resource == "alice" and p["type"] == "available" and "110" in codes(p):
                break
        bob = await RawIrcClient.connect(ngircd.port)
        try:
            await bob.register("bob")
            await bob.join("#phoenix")
            assert any(line.command == "353" and "alice" in line.params[-1] for line in bob.received)
        finally:
            await bob.close()
    finally:
        await running.stop()


async def test_raw_commands_for_admins_only(prosody: ProsodyServer, ngircd: NgircdServer, tmp_path: Path,
                                           sqlite_url: str, alice: TestClient, bob: RawIrcClient) -> None:
    raw = irc_config(prosody, ngircd, sqlite_url)
    raw["xmpp"]["admins"] = ["admin@localhost"]
    running = await start_gateway(raw, tmp_path)
    admin = TestClient(f"{prosody.register('admin', 'admin-password')}/res", "admin-password")
    await admin.start(port=prosody.c2s_port)
    try:
        stanza = alice.make_message(mto=NETWORK_JID, mbody="/PRIVMSG bob :sneaky", mtype="chat")
        stanza["id"] = "raw-1"
        stanza.send()
        refused = await alice.next_message(10, lambda m: m["type"] == "error" and m["id"] == "raw-1")
        assert refused["error"]["condition"] == "forbidden"
        admin.send_message(mto=NETWORK_JID, mbody="/PRIVMSG bob :from the admin", mtype="chat")
        line = await bob.expect(lambda line: line.command == "PRIVMSG", timeout=10)
        assert line.params[-1] == "from the admin"
        assert not any("sneaky" in line.raw for line in bob.received)
    finally:
        await admin.stop()
        await running.stop()
