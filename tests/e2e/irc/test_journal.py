"""Group-chat messages are journaled like private messages: written to the database before they go to IRC, with
what became of them (sent, or failed with the reason the sender was given)."""

from __future__ import annotations

from pathlib import Path

from gateway.core.events import Direction, Status
from gateway.devstack.ngircd import NgircdServer, RawIrcClient
from gateway.devstack.prosody import ProsodyServer
from tests.e2e.irc.conftest import NETWORK, room_jid
from tests.e2e.irc.support import irc_config_for
from tests.e2e.irc.test_rooms import groupchat, join, privmsg_to, stanza_id
from tests.support.stack import start_gateway, wait_until
from tests.support.xmpp_client import TestClient


async def test_room_messages_are_journaled_with_their_outcome(
        prosody: ProsodyServer, ngircd: NgircdServer, tmp_path: Path, sqlite_url: str, alice: TestClient,
        bob: RawIrcClient) -> None:
    running = await start_gateway(irc_config_for(prosody, ngircd.port, sqlite_url, queue_size=5), tmp_path)
    journal = running.store.journal
    try:
        await bob.join("#kept")
        await join(alice, "#kept", "alice")
        stanza = alice.make_message(mto=room_jid("#kept"), mbody="for the record", mtype="groupchat")
        stanza["id"] = "kept-1"
        stanza.send()
        await bob.expect(privmsg_to("#kept", "for the record"), timeout=10)
        await alice.next_message(10, groupchat("for the record"))

        async def row(xmpp_id: str):  # type: ignore[no-untyped-def]
            rows = await journal.history(transport="irc", user="alice@localhost", direction=Direction.OUT)
            return next((r for r in rows if r.xmpp_id == xmpp_id), None)

        sent = await row("kept-1")
        assert sent is not None, "the group-chat message was not journaled"
        assert (sent.peer, sent.body) == (f"#kept%{NETWORK}", "for the record")

        async def is_sent() -> bool:  # recorded once it went out; the reflection does not wait for that commit
            found = await row("kept-1")
            return found is not None and found.status == Status.SENT

        await wait_until(is_sent, 5)

        refused = alice.make_message(mto=room_jid("#kept"), mbody="\n".join(f"l{n}" for n in range(10)),
                                     mtype="groupchat")
        refused["id"] = "kept-2"  # 10 lines cannot fit a queue of 5: refused, and the journal says so
        refused.send()
        error = await alice.next_message(10, lambda m: m["type"] == "error" and m["id"] == "kept-2")
        assert error["error"]["condition"] == "resource-constraint"
        failed = await row("kept-2")
        assert failed is not None and failed.status == Status.FAILED and failed.reported
        assert failed.error and "resource-constraint" in failed.error
    finally:
        await running.stop()


async def test_channel_messages_are_journaled_then_marked_delivered(
        prosody: ProsodyServer, ngircd: NgircdServer, tmp_path: Path, sqlite_url: str, alice: TestClient,
        bob: RawIrcClient) -> None:
    running = await start_gateway(irc_config_for(prosody, ngircd.port, sqlite_url), tmp_path)
    journal = running.store.journal
    try:
        await bob.join("#inbound")
        await join(alice, "#inbound", "alice")
        for n in range(20):
            await bob.send(f"PRIVMSG #inbound :line {n}")
        shown = [await alice.next_message(10, groupchat(f"line {n}")) for n in range(20)]  # in order

        async def delivered() -> bool:
            rows = await journal.history(transport="irc", user="alice@localhost", direction=Direction.IN)
            return [r.status for r in rows if r.body.startswith("line ")] == [Status.DELIVERED] * 20

        await wait_until(delivered, timeout=10)
        rows = [r for r in await journal.history(transport="irc", direction=Direction.IN) if r.body.startswith("line")]
        assert [r.body for r in rows] == [f"line {n}" for n in range(20)]
        assert {r.peer for r in rows} == {f"#inbound%{NETWORK}"}
        assert [stanza_id(m) for m in shown] == [r.xmpp_id for r in rows]  # the id a redelivery would reuse
    finally:
        await running.stop()
