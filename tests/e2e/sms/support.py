"""Helpers for the SMS end-to-end tests: a sandbox that records every API call, an inbox that keeps every
stanza, stanza builders, signed webhooks and journal reads."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal
from xml.etree import ElementTree as ET

import aiohttp
from aiohttp import web
from slixmpp import Message

from gateway.app import Gateway
from gateway.core.events import Direction
from gateway.store.journal import JournalRow
from gateway.transports.sms.sandbox import SmsSandbox
from tests.e2e.sms.conftest import ACCOUNT_SID, ALICE_NUMBER, AUTH_TOKEN, SMS
from tests.support.xmpp_client import TestClient

OOB_NS = "jabber:x:oob"
NICK_NS = "http://jabber.org/protocol/nick"
STANZAS_NS = "urn:ietf:params:xml:ns:xmpp-stanzas"


@dataclass(frozen=True)
class ApiCall:
    """One request to the sandbox's Messages API, as it arrived (before authentication and failures)."""

    kind: Literal["create", "list", "fetch"]
    at: float  # time.monotonic()
    to: str
    from_: str
    body: str
    media: tuple[str, ...]


class RecordingSandbox(SmsSandbox):
    """The project's sandbox, unchanged, plus a log of every API request and an optional hold on one create.

    `hold(body, mode)`: the create with that body waits until `release()`. mode "after": the message is created
    first and only the answer waits (the gateway dies while Twilio has it); mode "drop": the request waits and
    is then answered 503 without creating anything (the request never got through). `hold_lists()`: every list
    request waits until `release_lists()`.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.api_calls: list[ApiCall] = []
        self._hold_body: str | None = None
        self._hold_mode = "after"
        self.held = asyncio.Event()
        self._released = asyncio.Event()
        self._lists = asyncio.Event()
        self._lists.set()

    def hold(self, body: str, mode: Literal["after", "drop"] = "after") -> None:
        self._hold_body, self._hold_mode = body, mode
        self.held.clear()
        self._released.clear()

    def release(self) -> None:
        self._released.set()

    def hold_lists(self) -> None:
        self._lists.clear()

    def release_lists(self) -> None:
        self._lists.set()

    def creates(self, to: str | None = None) -> list[ApiCall]:
        return [c for c in self.api_calls if c.kind == "create" and (to is None or c.to == to)]

    def lists(self) -> list[ApiCall]:
        return [c for c in self.api_calls if c.kind == "list"]

    def _api(self, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
             ) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        wrapped = super()._api(handler)

        async def recording(request: web.Request) -> web.StreamResponse:
            if request.method == "POST":
                form = await request.post()  # aiohttp caches it: the handler reads it again
                call = ApiCall("create", time.monotonic(), str(form.get("To", "")), str(form.get("From", "")),
                               str(form.get("Body", "")), tuple(str(u) for u in form.getall("MediaUrl", [])))
            else:
                kind: Literal["list", "fetch"] = "fetch" if "sid" in request.match_info else "list"
                call = ApiCall(kind, time.monotonic(), request.query.get("To", ""), request.query.get("From", ""),
                               "", ())
            self.api_calls.append(call)
            if call.kind == "list":
                await self._lists.wait()
            if call.kind == "create" and self._hold_body is not None and call.body == self._hold_body:
                self._hold_body = None
                if self._hold_mode == "drop":
                    self.held.set()
                    await self._released.wait()
                    return web.json_response({"code": 20503, "message": "dropped", "status": 503}, status=503)
                response = await wrapped(request)
                self.held.set()
                await self._released.wait()
                return response
            return await wrapped(request)

        return recording


def make_sandbox(**kwargs: Any) -> RecordingSandbox:
    options: dict[str, Any] = {"numbers": [ALICE_NUMBER], "status_delay": 0.01, "retry_delay": 0.05, **kwargs}
    return RecordingSandbox(ACCOUNT_SID, AUTH_TOKEN, **options)


# -- XMPP side ----------------------------------------------------------------------------------------------
class Inbox:
    """Every message stanza a client receives, kept in order; waiting never drops anything."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.messages: list[Message] = []
        self._changed = asyncio.Event()
        self._task = asyncio.create_task(self._collect())

    async def _collect(self) -> None:
        while True:
            self.messages.append(await self.client.messages.get())
            self._changed.set()

    def close(self) -> None:
        self._task.cancel()

    def matching(self, predicate: Callable[[Message], bool]) -> list[Message]:
        return [m for m in self.messages if predicate(m)]

    async def wait_for(self, predicate: Callable[[Message], bool], count: int = 1, timeout: float = 10
                       ) -> list[Message]:
        """The first `count` messages matching `predicate` (waiting up to `timeout` s for them)."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.matching(predicate)
            if len(found) >= count:
                return found[:count]
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"{len(found)} of {count} matching message(s) within {timeout:g} s; got: "
                                   + "; ".join(str(m) for m in self.messages[-5:]))
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), left)

    async def error_for(self, stanza_id: str, timeout: float = 10) -> Message:
        [error] = await self.wait_for(lambda m: m["type"] == "error" and m["id"] == stanza_id, timeout=timeout)
        return error

    def bodies_from(self, jid: str) -> list[str]:
        return [m["body"] for m in self.messages if m["type"] != "error" and m["body"] and str(m["from"]) == jid]


def jid(number: str) -> str:
    return f"{number}@{SMS}"


def send_text(client: TestClient, to: str, body: str, stanza_id: str, *, receipt: bool = False,
              oob: Iterable[str] = ()) -> Message:
    """A chat message to `to` (a number or a JID), with one <x xmlns='jabber:x:oob'> per URL in `oob`."""
    message = client.make_message(mto=to if "@" in to else jid(to), mbody=body or None, mtype="chat")
    message["id"] = stanza_id
    if receipt:
        message["request_receipt"] = True
    for url in oob:  # several OOB elements: slixmpp's plugin holds one, so the XML is built by hand
        x = ET.SubElement(message.xml, f"{{{OOB_NS}}}x")
        ET.SubElement(x, f"{{{OOB_NS}}}url").text = url
    message.send()
    return message


def error_of(stanza: Message) -> tuple[str, str]:
    """(condition, text) of an error stanza."""
    return str(stanza["error"]["condition"]), str(stanza["error"]["text"])


def oob_urls(stanza: Message) -> list[str]:
    return [u.text or "" for u in stanza.xml.findall(f"{{{OOB_NS}}}x/{{{OOB_NS}}}url")]


def nick_of(stanza: Message) -> str | None:
    nick = stanza.xml.find(f"{{{NICK_NS}}}nick")
    return None if nick is None else nick.text


# -- webhooks and the journal -------------------------------------------------------------------------------
def inbound_params(from_: str, to: str, body: str, sid: str, **extra: str) -> dict[str, str]:
    """What Twilio POSTs for an inbound text."""
    return {"AccountSid": ACCOUNT_SID, "ApiVersion": "2010-04-01", "Body": body, "From": from_,
            "MessageSid": sid, "NumMedia": "0", "NumSegments": "1", "SmsMessageSid": sid, "SmsSid": sid,
            "SmsStatus": "received", "To": to, **extra}


async def post_form(url: str, params: dict[str, str], signature: str | None) -> tuple[int, str]:
    headers = {"X-Twilio-Signature": signature} if signature is not None else {}
    async with aiohttp.ClientSession() as session, session.post(url, data=params, headers=headers) as response:
        return response.status, await response.text()


def webhook_url(gateway: Gateway, path: str = "/sms/inbound") -> str:
    return gateway.config.http.base_url.rstrip("/") + path


async def journal(gateway: Gateway, direction: Direction | None = None) -> list[JournalRow]:
    assert gateway.store is not None
    return await gateway.store.journal.history(transport="sms", direction=direction)
