"""Room archives through real Prosody and ngircd: MAM (XEP-0313) on room JIDs as slixmpp's xep_0313 asks it (the
shapes Conversations and Gajim send), and history on join (XEP-0045 7.2.15). Every line is said on IRC."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from slixmpp import JID, Iq, Message
from slixmpp.exceptions import IqError
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

from gateway.app import Gateway
from gateway.devstack.ngircd import NgircdServer, RawIrcClient
from gateway.devstack.prosody import ProsodyServer
from tests.e2e.irc.conftest import IRC, NETWORK, muc_client, room_jid
from tests.e2e.irc.test_rooms import groupchat, stanza_id
from tests.support.xmpp_client import TestClient

MAM = "urn:xmpp:mam:2"


async def mam_client(prosody: ProsodyServer, user: str, resource: str = "res") -> TestClient:
    client = await muc_client(prosody, user, resource)
    client.register_plugin("xep_0313")
    return client


async def say(irc: RawIrcClient, channel: str, lines: list[str]) -> None:
    for text in lines:
        await irc.send(f"PRIVMSG {channel} :{text}")


async def live(client: TestClient, count: int) -> list[Message]:
    return [await client.next_message(20, groupchat()) for _ in range(count)]


class Archive:
    """A client's MAM queries with whatever fields a test needs: results collected by query id."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.results: dict[str, list[Message]] = {}
        client.register_handler(Callback("test MAM results", MatchXPath(f"{{jabber:client}}message/{{{MAM}}}result"),
                                         self._result))

    def _result(self, message: Any) -> None:
        self.results.setdefault(message["mam_result"]["queryid"], []).append(message)

    async def query(self, room: JID, *, fields: dict[str, str] | None = None, rsm: dict[str, Any] | None = None,
                    flip: bool = False) -> tuple[list[Message], Iq]:
        iq = self.client.make_iq_set(ito=room)
        iq["mam"]["queryid"] = iq["id"]
        for name, value in (fields or {}).items():
            iq["mam"].set_custom_field(name, value)
        for key, value in (rsm or {}).items():
            iq["mam"]["rsm"][key] = value
        if flip:
            iq["mam"].xml.append(iq["mam"].xml.makeelement(f"{{{MAM}}}flip-page", {}))
        result = await iq.send(timeout=10)
        return self.results.pop(iq["id"], []), result


def archived(messages: list[Message]) -> list[tuple[str, str, str]]:
    """(archive id, sender's nick, body) of each result."""
    return [(m["mam_result"]["id"], m["mam_result"]["forwarded"]["stanza"]["from"].resource,
             m["mam_result"]["forwarded"]["stanza"]["body"]) for m in messages]


async def test_paging_both_ways_through_1000_lines_with_the_ids_shown_live(
        gateway: Gateway, prosody: ProsodyServer, bob: RawIrcClient) -> None:
    alice = await mam_client(prosody, "alice")
    try:
        await bob.join("#big")
        await alice.plugin["xep_0045"].join_muc_wait(room_jid("#big"), "alice", maxstanzas=0, timeout=10)
        await bob.expect(lambda line: line.command == "JOIN" and line.nick == "alice")
        await say(bob, "#big", [f"line {n:04d}" for n in range(1000)])
        shown = [stanza_id(m) for m in await live(alice, 1000)]

        forward = [m async for m in alice.plugin["xep_0313"].iterate(jid=room_jid("#big"), rsm={"max": 100})]
        assert [body for _, _, body in archived(forward)] == [f"line {n:04d}" for n in range(1000)]
        assert [i for i, _, _ in archived(forward)] == shown
        assert {nick for _, nick, _ in archived(forward)} == {"bob"}
        stamps = [m["mam_result"]["forwarded"]["delay"]["stamp"] for m in forward]
        assert stamps == sorted(stamps) and stamps[0] > datetime.now(UTC) - timedelta(minutes=5)

        backward = [m async for m in alice.plugin["xep_0313"].iterate(jid=room_jid("#big"), rsm={"max": 100},
                                                                       reverse=True)]
        assert [i for i, _, _ in archived(backward)] == shown[::-1]

        # The pages themselves: the last one (an empty <before/>), its fin, and the one before it.
        archive = Archive(alice)
        last, fin = await archive.query(room_jid("#big"), rsm={"max": "50", "before": True})
        assert [i for i, _, _ in archived(last)] == shown[950:]
        assert fin["mam_fin"]["complete"] in ("", "false")
        assert (fin["mam_fin"]["rsm"]["first"], fin["mam_fin"]["rsm"]["last"]) == (shown[950], shown[999])
        assert fin["mam_fin"]["rsm"]["count"] == "1000"
        earlier, _ = await archive.query(room_jid("#big"), rsm={"max": "50", "before": shown[950]})
        assert [i for i, _, _ in archived(earlier)] == shown[900:950]
        flipped, fin = await archive.query(room_jid("#big"), rsm={"max": "50", "before": True}, flip=True)
        assert [i for i, _, _ in archived(flipped)] == shown[950:][::-1]
        first, fin = await archive.query(room_jid("#big"), rsm={"max": "10"}, fields={"after-id": shown[989]})
        assert [i for i, _, _ in archived(first)] == shown[990:] and fin["mam_fin"]["complete"] == "true"
        between, _ = await archive.query(room_jid("#big"),
                                         fields={"after-id": shown[10], "before-id": shown[14]})
        assert [i for i, _, _ in archived(between)] == shown[11:14]
    finally:
        await alice.stop()


async def test_with_a_nick_since_a_time_and_the_user_s_own_line(
        gateway: Gateway, prosody: ProsodyServer, bob: RawIrcClient, ngircd: NgircdServer,
        irc_clients: list[RawIrcClient]) -> None:
    alice = await mam_client(prosody, "alice")
    carol = await RawIrcClient.connect(ngircd.port)
    irc_clients.append(carol)
    try:
        await carol.register("carol")
        await bob.join("#who")
        await carol.join("#who")
        await alice.plugin["xep_0045"].join_muc_wait(room_jid("#who"), "alice", maxstanzas=0, timeout=10)
        await bob.expect(lambda line: line.command == "JOIN" and line.nick == "alice")
        await say(bob, "#who", ["bob 1", "bob 2"])
        await live(alice, 2)
        await asyncio.sleep(1.1)  # the archive's times are the journal's: a second apart at least
        since = datetime.now(UTC)
        await asyncio.sleep(0.1)
        await say(carol, "#who", ["carol 1"])
        await say(bob, "#who", ["bob 3"])
        await live(alice, 2)
        out = alice.make_message(mto=room_jid("#who"), mbody="alice here", mtype="groupchat")
        out["id"] = "client-id-7"
        out.send()
        await bob.expect(lambda line: line.command == "PRIVMSG" and line.params[-1] == "alice here")
        reflected = await alice.next_message(10, groupchat("alice here"))
        assert reflected["id"] == "client-id-7"

        archive = Archive(alice)
        said_by_carol, _ = await archive.query(room_jid("#who"), fields={"with": f"{room_jid('#who')}/carol"})
        assert [(nick, body) for _, nick, body in archived(said_by_carol)] == [("carol", "carol 1")]
        said_by_bob, _ = await archive.query(room_jid("#who"), fields={"with": f"{room_jid('#who')}/bob"})
        assert [body for _, _, body in archived(said_by_bob)] == ["bob 1", "bob 2", "bob 3"]
        recent, _ = await archive.query(room_jid("#who"), fields={"start": since.isoformat()})
        assert [(nick, body) for _, nick, body in archived(recent)] == [
            ("carol", "carol 1"), ("bob", "bob 3"), ("alice", "alice here")]
        own = archived(recent)[-1]
        assert own[0] == stanza_id(reflected), "the reflection's stanza-id is the archived copy's id"
    finally:
        await alice.stop()


async def test_two_users_in_one_channel_each_read_their_own_rows_and_none_of_a_channel_they_were_not_in(
        gateway: Gateway, prosody: ProsodyServer, bob: RawIrcClient) -> None:
    alice = await mam_client(prosody, "alice")
    dave = await mam_client(prosody, "dave")
    try:
        await bob.join("#both")
        await bob.join("#davesonly")
        await alice.plugin["xep_0045"].join_muc_wait(room_jid("#both"), "alice", maxstanzas=0, timeout=10)
        await dave.plugin["xep_0045"].join_muc_wait(room_jid("#both"), "dave", maxstanzas=0, timeout=10)
        await dave.plugin["xep_0045"].join_muc_wait(room_jid("#davesonly"), "dave", maxstanzas=0, timeout=10)
        for nick in ("alice", "dave"):
            await bob.expect(lambda line, nick=nick: line.command == "JOIN" and line.nick == nick)  # type: ignore[misc]
        await say(bob, "#both", ["to both 1", "to both 2"])
        await say(bob, "#davesonly", ["secret"])
        alice_ids = [stanza_id(m) for m in await live(alice, 2)]
        dave_live = [await dave.next_message(10, groupchat()) for _ in range(3)]

        alice_rows, _ = await Archive(alice).query(room_jid("#both"))
        dave_rows, _ = await Archive(dave).query(room_jid("#both"))
        assert [i for i, _, _ in archived(alice_rows)] == alice_ids
        assert [body for _, _, body in archived(dave_rows)] == ["to both 1", "to both 2"]
        assert {i for i, _, _ in archived(dave_rows)} == {stanza_id(m) for m in dave_live if m["body"] != "secret"}
        assert not {i for i, _, _ in archived(dave_rows)} & set(alice_ids), "each user's rows have their own ids"
        nothing, fin = await Archive(alice).query(room_jid("#davesonly"))
        assert nothing == [] and fin["mam_fin"]["complete"] == "true"
        dave.plugin["xep_0045"].leave_muc(room_jid("#davesonly"), "dave")
        await bob.expect(lambda line: line.command == "PART" and line.nick == "dave")
        kept, _ = await Archive(dave).query(room_jid("#davesonly"))  # out of the room, the lines stay his
        assert [body for _, _, body in archived(kept)] == ["secret"]
        with pytest.raises(IqError) as unknown:  # dave's line is not in alice's archive
            await Archive(alice).query(room_jid("#both"), fields={"after-id": str(stanza_id(dave_live[0]))})
        assert unknown.value.iq["error"]["condition"] == "item-not-found"
    finally:
        await alice.stop()
        await dave.stop()


async def test_history_on_join_by_default_by_count_by_seconds_since_a_time_and_none(
        gateway: Gateway, prosody: ProsodyServer, bob: RawIrcClient) -> None:
    first = await mam_client(prosody, "alice")
    joined: list[TestClient] = []
    try:
        await bob.join("#hist")
        await first.plugin["xep_0045"].join_muc_wait(room_jid("#hist"), "alice", maxstanzas=0, timeout=10)
        await bob.expect(lambda line: line.command == "JOIN" and line.nick == "alice")
        await say(bob, "#hist", [f"old {n}" for n in range(30)])
        await live(first, 30)
        await asyncio.sleep(1.1)
        between = datetime.now(UTC)
        await asyncio.sleep(1.1)
        await say(bob, "#hist", ["new 1", "new 2"])
        shown = [stanza_id(m) for m in await live(first, 2)]

        async def history(resource: str, **asked: Any) -> list[Message]:
            client = await mam_client(prosody, "alice", resource)
            joined.append(client)
            _, _, _, lines = await client.plugin["xep_0045"].join_muc_wait(room_jid("#hist"), "alice", timeout=10,
                                                                          **asked)
            return lines

        assert [m["body"] for m in await history("recent", seconds=2)] == ["new 1", "new 2"]
        default = await history("default")
        assert [m["body"] for m in default] == [f"old {n}" for n in range(12, 30)] + ["new 1", "new 2"]
        assert [stanza_id(m) for m in default[-2:]] == shown, "the stanza-ids the lines were shown with"
        assert all(m["delay"]["from"] == room_jid("#hist") for m in default)
        assert [m["body"] for m in await history("five", maxstanzas=5)] == ["old 27", "old 28", "old 29", "new 1",
                                                                            "new 2"]
        assert [m["body"] for m in await history("since", since=between)] == ["new 1", "new 2"]
        assert await history("none", maxstanzas=0) == []
        assert await history("no-chars", maxchars=0) == []
    finally:
        for client in (first, *joined):
            await client.stop()


async def test_bad_requests_get_errors_with_text_and_the_room_advertises_its_archive(
        gateway: Gateway, prosody: ProsodyServer) -> None:
    alice = await mam_client(prosody, "alice")
    try:
        info = await alice.plugin["xep_0030"].get_info(jid=room_jid("#any"), timeout=10)
        assert {MAM, f"{MAM}#extended"} <= set(info["disco_info"]["features"])
        form = await alice.plugin["xep_0313"].get_fields(jid=room_jid("#any"), timeout=10)
        assert {"FORM_TYPE", "with", "start", "end", "before-id", "after-id"} <= set(form.get_fields())

        archive = Archive(alice)
        for fields, rsm, condition, words in (
                ({"start": "yesterday"}, None, "bad-request", "no XEP-0082 date"),
                ({"colour": "blue"}, None, "bad-request", "no field 'colour'"),
                ({"with": f"someone%{NETWORK}@{IRC}"}, None, "bad-request", "occupant of this room"),
                ({"after-id": "no-such-id"}, None, "item-not-found", "no-such-id"),
                (None, {"max": "many"}, "bad-request", "no number"),
                (None, {"after": "no-such-id"}, "item-not-found", "no-such-id")):
            with pytest.raises(IqError) as refused:
                await archive.query(room_jid("#any"), fields=fields, rsm=rsm)
            error = refused.value.iq["error"]
            assert (error["condition"], words in error["text"]) == (condition, True), error
        with pytest.raises(IqError) as contact:
            await archive.query(JID(f"bob%{NETWORK}@{IRC}"))
        assert contact.value.iq["error"]["condition"] == "service-unavailable"
        assert "your own server" in contact.value.iq["error"]["text"]
    finally:
        await alice.stop()


async def test_an_iq_result_carrying_a_query_is_never_answered(gateway: Gateway, prosody: ProsodyServer) -> None:
    """RFC 6120 8.2.3: a result is no request, whatever it carries."""
    alice = await mam_client(prosody, "alice")
    answers: list[Iq] = []
    alice.register_handler(Callback("answers", MatchXPath("{jabber:client}iq"),
                                    lambda iq: answers.append(iq) if iq["id"].startswith("unasked") else None))
    try:
        for n, to in enumerate((room_jid("#any"), JID(f"bob%{NETWORK}@{IRC}"))):
            iq = alice.make_iq_result(id=f"unasked-{n}", ito=to)
            iq["mam"]["queryid"] = "q"
            iq.send()
        await alice.plugin["xep_0030"].get_info(jid=room_jid("#any"), timeout=10)  # answered after them
        assert answers == []
    finally:
        await alice.stop()
