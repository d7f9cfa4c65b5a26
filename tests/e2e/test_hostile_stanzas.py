"""Stanzas a client may send that once cut the component's stream or went unanswered, on real Prosody; and what the
gateway does when the server refuses a stanza it wrote, or when the journal holds one it cannot render."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

from gateway.app import Gateway
from gateway.core.events import Direction, InboundMessage, Status
from gateway.devstack.ports import free_port
from gateway.devstack.prosody import ProsodyServer
from gateway.store.store import Store
from gateway.xmpp.component import State
from tests.support.stack import LOOPBACK, raw_config, start_gateway, wait_until
from tests.support.xmpp_client import TestClient

ECHO = f"echo@{LOOPBACK}"


class Replies:
    """Every iq and message a client receives, by id."""

    def __init__(self, client: TestClient) -> None:
        self.stanzas: list[Any] = []
        self._changed = asyncio.Event()
        for kind in ("iq", "message"):
            client.register_handler(Callback(f"replies {kind}", MatchXPath(f"{{jabber:client}}{kind}"), self._add))

    def _add(self, stanza: Any) -> None:
        self.stanzas.append(stanza)
        self._changed.set()

    async def wait(self, match: Callable[[Any], bool], timeout: float = 10) -> Any:
        async def find() -> Any:
            while True:
                found = [s for s in self.stanzas if match(s)]
                if found:
                    return found[0]
                self._changed.clear()
                await self._changed.wait()

        return await asyncio.wait_for(find(), timeout)

    async def error(self, stanza_id: str) -> Any:
        return await self.wait(lambda s: s["id"] == stanza_id and s["type"] == "error")

    def count(self, stanza_id: str) -> int:
        return sum(1 for s in self.stanzas if s["id"] == stanza_id)


def reconnects(gateway: Gateway) -> float:
    return gateway.metrics.reconnects.labels(component=LOOPBACK)._value.get()  # type: ignore[no-any-return]


async def echo_still_works(alice: TestClient, replies: Replies, tag: str) -> None:
    alice.send_message(mto=ECHO, mbody=f"still here {tag}", mtype="chat")
    await replies.wait(lambda s: s["body"] == f"still here {tag}")


async def test_a_body_that_escaping_would_grow_past_the_limit_is_refused_and_the_next_one_echoed(
        gateway: Gateway, alice: TestClient) -> None:
    replies = Replies(alice)
    # 120,000 quotes are 120 KB from the client and were 720 KB as &quot; from us: Prosody cut the stream, and
    # the outbox wrote the echo again after every reconnect.
    alice.send_raw(f"<message to='{ECHO}' type='chat' id='quotes'><body>{chr(34) * 120_000}</body></message>")
    error = await replies.error("quotes")
    assert error["error"]["condition"] == "not-acceptable"
    assert "too long" in error["error"]["text"]
    alice.send_raw(f"<message to='{ECHO}' type='chat' id='large'><body>{'a' * 200_000}</body></message>")
    echo = await replies.wait(lambda s: s["type"] == "chat" and len(s["body"]) == 200_000)  # large is fine
    assert echo["from"] == ECHO
    await echo_still_works(alice, replies, "after the quotes")
    assert reconnects(gateway) == 0


async def test_a_namespace_holding_a_brace_does_not_cut_the_stream(gateway: Gateway, alice: TestClient) -> None:
    # ElementTree's parser ends a namespace at "}": such a declaration was a syntax error that closed the stream.
    replies = Replies(alice)
    for n, namespace in enumerate(("urn:x:a}b", "}", "urn:{x}:y}")):
        alice.send_raw(f"<message to='{ECHO}' type='chat' id='brace-{n}'><body>brace {n}</body>"
                       f"<x xmlns='{namespace}'/><y xmlns:p='{namespace}' p:a='1'/></message>")
        await replies.wait(lambda s, n=n: s["body"] == f"brace {n}")  # echoed: the rest of it was read
    await echo_still_works(alice, replies, "after the braces")
    assert reconnects(gateway) == 0


@pytest.mark.parametrize(("what", "stanza"), [
    ("message", "<message to='\U0001F600@{domain}' type='chat' id='{id}'><body>hi</body></message>"),
    ("iq to a resource", "<iq to='{domain}/\U0001F600' type='set' id='{id}'>"
                         "<query xmlns='http://jabber.org/protocol/disco#items'/></iq>"),
    ("presence", "<presence to='x\U0001F600@{domain}' type='subscribe' id='{id}'/>"),
])
async def test_an_address_the_server_takes_and_slixmpp_refuses_gets_an_error(
        gateway: Gateway, alice: TestClient, what: str, stanza: str) -> None:
    # Prosody's stringprep lets code points Unicode 3.2 did not assign through; slixmpp's raised InvalidJID in
    # the handlers: tracebacks, and nothing answered.
    stanza_id = what.replace(" ", "-")
    received: list[Any] = []
    alice.register_handler(Callback("any", MatchXPath("{jabber:client}presence"), received.append))
    replies = Replies(alice)
    alice.send_raw(stanza.format(domain=LOOPBACK, id=stanza_id))
    if what == "presence":
        await wait_until(lambda: any(p["id"] == stanza_id and p["type"] == "error" for p in received))
        error = next(p for p in received if p["id"] == stanza_id)
    else:
        error = await replies.error(stanza_id)
    assert error["error"]["condition"] == "jid-malformed"
    assert "cannot handle the address" in error["error"]["text"]
    await echo_still_works(alice, replies, what)
    assert reconnects(gateway) == 0


@pytest.mark.parametrize(("payload", "why"), [
    ("<x xmlns='urn:x:nest'>" * 500 + "</x>" * 500, "deeper than 32 levels"),
    ("<x xmlns='urn:x:nest'>" * 2000 + "</x>" * 2000, "deeper than 32 levels"),
    ("<x xmlns='urn:x:wide'>" + "<y/>" * 6000 + "</x>", "more than 5000 elements"),
], ids=["500 levels", "2000 levels", "6000 elements"])
async def test_deeply_nested_or_huge_payloads_get_an_answer(gateway: Gateway, alice: TestClient, payload: str,
                                                            why: str) -> None:
    # Replies deep-copy the stanza: 500 levels and more raised RecursionError, and nothing was answered.
    replies = Replies(alice)
    alice.send_raw(f"<message to='{ECHO}' type='chat' id='deep-message'><body>hi</body>{payload}</message>")
    alice.send_raw(f"<iq to='{LOOPBACK}' type='get' id='deep-iq'><query xmlns='urn:x:q'>{payload}</query></iq>")
    for stanza_id in ("deep-message", "deep-iq"):
        error = await replies.error(stanza_id)
        assert error["error"]["condition"] == "not-acceptable"
        assert why in error["error"]["text"]
    await echo_still_works(alice, replies, "after the nesting")
    assert reconnects(gateway) == 0


@pytest.mark.parametrize(("what", "iq"), [
    ("disco#info set", "<iq type='set' id='{id}'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>"),
    ("disco#items set", "<iq type='set' id='{id}'><query xmlns='http://jabber.org/protocol/disco#items'/></iq>"),
    ("ping set", "<iq type='set' id='{id}'><ping xmlns='urn:xmpp:ping'/></iq>"),
    ("version set", "<iq type='set' id='{id}'><query xmlns='jabber:iq:version'/></iq>"),
])
async def test_every_iq_request_gets_exactly_one_answer(gateway: Gateway, alice: TestClient, what: str,
                                                        iq: str) -> None:
    replies = Replies(alice)
    stanza_id = what.replace(" ", "-")
    alice.send_raw(iq.format(id=stanza_id).replace("<iq ", f"<iq to='{LOOPBACK}' ", 1))
    error = await replies.error(stanza_id)
    assert error["error"]["condition"] == "bad-request"
    await echo_still_works(alice, replies, what)  # enough time for a second answer to show up
    assert replies.count(stanza_id) == 1


async def test_a_stanza_the_server_refuses_twice_is_failed_in_the_journal_and_never_written_again(
        gateway: Gateway, alice: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    # Nothing the gateway renders can be refused any more; a renderer that breaks is what this stands for.
    replies = Replies(alice)
    component = gateway.components["loopback"]
    honest = component.deliver

    def broken(message: InboundMessage) -> asyncio.Future[None]:
        if message.body != "poison":
            return honest(message)
        return component.outbox.send(f"<message to='{message.user}' from='{ECHO}'><body>\x00</body></message>")

    component.deliver = broken  # type: ignore[method-assign]
    alice.send_message(mto=ECHO, mbody="poison", mtype="chat")
    assert gateway.store is not None
    journal = gateway.store.journal

    async def poison_row() -> Any:
        rows = await journal.history(direction=Direction.IN)
        return next((row for row in rows if row.body == "poison"), None)

    await wait_until(lambda: _status_is(poison_row, Status.FAILED), timeout=20)
    row = await poison_row()
    assert "refused it (not-well-formed)" in (row.error or "")
    notice = await replies.wait(lambda s: "could not show you a message" in s["body"], timeout=20)
    assert notice["from"] == ECHO and "not-well-formed" in notice["body"]  # the user is told, not left guessing
    await wait_until(lambda: component.state is State.CONNECTED, timeout=20)
    assert reconnects(gateway) == 2  # once over the batch it was in, once over itself alone: not a third time
    await echo_still_works(alice, replies, "after the poison")
    await asyncio.sleep(1)
    assert reconnects(gateway) == 2


async def _status_is(read: Callable[[], Any], status: Status) -> bool:
    row = await read()
    return row is not None and row.status is status


async def test_a_journaled_message_that_cannot_be_rendered_is_failed_and_the_gateway_starts(
        prosody: ProsodyServer, tmp_path: Path, sqlite_url: str, alice: TestClient,
        caplog: pytest.LogCaptureFixture) -> None:
    raw = raw_config(component_port=prosody.component_port, http_port=free_port(), database_url=sqlite_url)
    await (await start_gateway(raw, tmp_path)).stop()  # the database, migrated
    store = await Store.open(sqlite_url)
    try:  # a group-chat line for the loopback transport, which has no rooms: no component can render it
        await store.journal.record_inbound(InboundMessage(transport="loopback", user="alice@localhost",
                                                          peer="echo", body="no room here", room_nick="n"))
        await store.journal.record_inbound(InboundMessage(transport="loopback", user="alice@localhost",
                                                          peer="echo", body="renderable"))
    finally:
        await store.close()
    caplog.set_level(logging.ERROR, logger="gateway.core.router")
    replies = Replies(alice)
    running = await start_gateway(raw, tmp_path)  # resume raised before, and the gateway did not start
    try:
        await replies.wait(lambda s: s["body"] == "renderable")  # the rest of the journal goes on
        assert running.store is not None
        rows = {row.body: row for row in await running.store.journal.history(direction=Direction.IN)}
        assert rows["no room here"].status is Status.FAILED
        assert "cannot be rendered" in (rows["no room here"].error or "")
        assert [r.getMessage() for r in caplog.records if "cannot render" in r.getMessage()]
        await replies.wait(lambda s: "could not show you a message from n here" in s["body"])
    finally:
        await running.stop()
