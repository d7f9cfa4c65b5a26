"""One XEP-0114 component per transport: keeps its stream up and turns stanzas into core events and back."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import logging
import re
import secrets
import ssl
import time
from collections.abc import Awaitable, Callable, Iterator
from enum import StrEnum
from typing import Any
from xml.etree import ElementTree as ET

from slixmpp import JID, ComponentXMPP, Iq, Message, Presence
from slixmpp.jid import InvalidJID
from slixmpp.xmlstream import register_stanza_plugin
from slixmpp.xmlstream import xmlstream as slixmpp_xmlstream
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath, StanzaPath
from slixmpp.xmlstream.xmlstream import NotConnectedError

from gateway import __version__
from gateway.core.backoff import Backoff
from gateway.core.events import (
    ErrorCondition,
    ErrorType,
    InboundMessage,
    OutboundMessage,
    Outcome,
    Refusal,
    Status,
    Undeliverable,
)
from gateway.core.router import Router
from gateway.core.tasks import TaskSet
from gateway.transports.base import Transport
from gateway.xmpp import stanza_text, wire
from gateway.xmpp.addressing import peer_jid, peer_of
from gateway.xmpp.bounce import answer_error, bounce, error_text
from gateway.xmpp.gateway_prompt import NAMESPACE as GATEWAY_NS
from gateway.xmpp.gateway_prompt import GatewayQuery
from gateway.xmpp.outbox import AckedOutbox

log = logging.getLogger(__name__)

PING_TIMEOUT = 10.0
KEEPALIVE_INTERVAL = 60.0  # an idle stream is pinged this often, so a server that vanished is noticed
HANDSHAKE_TIMEOUT = 15.0
INITIAL_DELAY = 1.0
STABLE_AFTER = 30.0  # a stream that lived this long resets the backoff
OOB_NS = "jabber:x:oob"
OOB_URLS = f"{{{OOB_NS}}}x/{{{OOB_NS}}}url"
ENVELOPE = 8 * 1024  # room a message takes besides its body: addresses, ids, OOB, delay, stanza-id
_NAMESPACE_DECLARATION = re.compile(rb"""\sxmlns(?::[^\s=]+)?\s*=\s*(?:'[^']*'|"[^"]*")""")


@functools.lru_cache(maxsize=4096)
def _held(address: str) -> bool:
    """Can slixmpp's JID hold this address? (Cached: every stanza's addresses are checked.)"""
    try:
        JID(address)
    except InvalidJID:
        return False
    return True


class State(StrEnum):
    CONNECTING = "connecting"
    CONNECTED = "connected"
    DISCONNECTED = "disconnected"
    STOPPED = "stopped"


# Payloads slixmpp's handlers answer for one request type only: any other type would go unanswered.
_IQ_TYPES = {"http://jabber.org/protocol/disco#info": "get", "http://jabber.org/protocol/disco#items": "get",
             "urn:xmpp:ping": "get", "jabber:iq:version": "get", "http://jabber.org/protocol/commands": "set"}
# Stream errors by which the server says it could not take what we wrote (RFC 6120 4.9.3).
REFUSALS = frozenset({"bad-format", "bad-namespace-prefix", "improper-addressing", "invalid-from", "invalid-namespace",
                      "invalid-xml", "not-well-formed", "policy-violation", "restricted-xml", "unsupported-encoding",
                      "unsupported-stanza-type", "xml-not-well-formed"})


class _ServiceUnavailableIq(Iq):
    """RFC 6120 8.4: a request nobody handles gets service-unavailable (slixmpp's default differs)."""

    def unhandled(self, *args: Any) -> None:
        if self["type"] in ("get", "set"):
            answer_error(self.stream, self, "service-unavailable", "This service does not handle that request.")


class _PlainStreamContext(ssl.SSLContext):
    """The TLS context of a component stream, which is plain TCP (XEP-0114): no certificate store is loaded, so
    a TLS connection, if one were ever made, would fail verification rather than pass unverified."""

    def set_default_verify_paths(self) -> None:
        return None


class _SslWithoutStore:
    """Stands in for the ssl module while slixmpp's XMLStream constructor runs: it makes a default context and
    loads the system's certificate store into it twice, about 36 ms per component at every start, for a stream
    that never uses TLS. ComponentXMPP passes no context of its own through."""

    def __getattr__(self, name: str) -> Any:
        return getattr(ssl, name)

    @staticmethod
    def create_default_context() -> ssl.SSLContext:
        return _PlainStreamContext(ssl.PROTOCOL_TLS_CLIENT)  # verifies certificates and host names


@contextlib.contextmanager
def _no_certificate_store() -> Iterator[None]:
    module: Any = slixmpp_xmlstream
    module.ssl = _SslWithoutStore()
    try:
        yield
    finally:
        module.ssl = ssl


class GatewayComponent(ComponentXMPP):
    def __init__(self, transport: Transport[Any], router: Router, *, host: str, port: int,
                 server_domain: str, reconnect_max_delay: float, max_stanza_size: int = 256 * 1024,
                 on_state: Callable[[str, State], None] | None = None,
                 on_reconnect: Callable[[str], None] | None = None) -> None:
        settings = transport.settings
        self._id_prefix = secrets.token_hex(6) + "-"  # see new_id; set first, the stream may ask for ids at once
        self._ids = itertools.count(1)
        with _no_certificate_store():
            super().__init__(settings.jid, settings.secret.get_secret_value(), host=host, port=port)
        self.adapter = transport  # not `transport`: slixmpp uses that name for its asyncio transport
        self.router = router
        self.server_domain = server_domain
        # As the server writes its own address (a domain in its canonical case): what a ping's answer comes from.
        self._server_jid = JID(server_domain).full
        self.reconnect_max_delay = reconnect_max_delay
        self.state = State.DISCONNECTED
        self._on_state = on_state or (lambda jid, state: None)
        self._on_reconnect = on_reconnect or (lambda jid: None)
        self.enable_direct_tls = False  # the component port is plain TCP on the server's side
        self.auto_authorize = None  # subscriptions are answered below, not by slixmpp's in-memory roster
        self.auto_subscribe = False
        self.max_stanza_size = max_stanza_size
        # Text goes through slixmpp's send queue as it is (no filters): in order with everything else written.
        self.outbox = AckedOutbox(functools.partial(ComponentXMPP.send, self), self._ping_server,
                                  lambda stanza: wire.render(stanza, self.default_ns, self), max_stanza_size)
        self._attempt: asyncio.Future[str] | None = None
        self._closed: asyncio.Future[None] | None = None
        self._stream_error: str | None = None
        self._partial = b""  # the start of a tag not yet whole (see data_received)
        self._unwritten: list[bytes] = []  # written this turn of the loop (see send_raw)
        self._supervisor: asyncio.Task[None] | None = None
        self._stopping = False
        self._presented: set[tuple[str, str]] = set()  # (contact JID, user bare JID) shown as available
        self._handling = TaskSet(log)  # messages read from the stream, not yet journaled
        # Text to the component's own JID: (sender's bare JID, body) -> reply (see connect_chat_commands).
        self._chat_commands: Callable[[str, str], Awaitable[str]] | None = None
        # Group chat messages and in-room private messages (True: taken), and error messages from users' servers
        # (a room stanza bounced), for transports with rooms (see connect_rooms).
        self._room_messages: Callable[[Message], Awaitable[bool]] | None = None
        self._room_errors: Callable[[Message], Awaitable[None]] | None = None
        self._pings: dict[str, asyncio.Future[None]] = {}  # by id: our pings to the server, not yet answered

        self.remove_stanza(Iq)
        self.register_stanza(_ServiceUnavailableIq)
        for plugin in ("xep_0030", "xep_0199", "xep_0092", "xep_0184", "xep_0066", "xep_0172", "xep_0203"):
            self.register_plugin(plugin)
        self.plugin["xep_0184"].auto_ack = False
        self.plugin["xep_0184"].auto_request = False
        self.plugin["xep_0092"].software_name = "xmpp-gateway"
        self.plugin["xep_0092"].version = __version__
        self._setup_disco()

        self.del_event_handler("presence_probe", self._handle_probe)
        # slixmpp's in-memory roster would keep an item per (room or contact, user) with the resources seen and the
        # last presence we sent: memory per user and room that nothing here reads (presence is answered below).
        self.del_filter("out", self.roster._save_last_status)
        for event in ("presence_available", "presence_dnd", "presence_xa", "presence_chat", "presence_away"):
            self.del_event_handler(event, self._handle_available)
        self.del_event_handler("presence_unavailable", self._handle_unavailable)
        self.add_event_handler("session_start", self._on_session_start)
        self.add_event_handler("disconnected", self._on_disconnected)
        self.add_event_handler("connection_failed", self._on_connection_failed)
        self.add_event_handler("stream_error", self._on_stream_error)
        # Every message stanza, not slixmpp's "message" event: that one skips messages without a body, and an
        # attachment (XEP-0066) may come alone.
        self.register_handler(Callback("gateway messages", MatchXPath(f"{{{self.default_ns}}}message"),
                                       self._start_handling))
        self._message_tag = f"{{{self.default_ns}}}message"
        self._iq_tag = f"{{{self.default_ns}}}iq"
        self.add_filter("in", self._check_iq)
        self.add_filter("in", self._take_user_messages)
        self.add_event_handler("presence_subscribe", self._on_subscribe)
        self.add_event_handler("presence_probe", self._on_probe)
        self.add_event_handler("presence_unsubscribe", self._on_unsubscribe)
        if self.adapter.prompt is not None:
            register_stanza_plugin(Iq, GatewayQuery)
            self.register_handler(Callback("jabber:iq:gateway", StanzaPath("iq/gateway"), self._on_gateway_prompt))

    @property
    def domain(self) -> str:
        return str(self.boundjid.bare)

    # -- what the composition root connects (the objects built on this component come after it) -------------
    def connect_chat_commands(self, reply: Callable[[str, str], Awaitable[str]]) -> None:
        """Text to the component's own JID gets `reply(sender bare JID, body)`; without it, the transport's help."""
        self._chat_commands = reply

    def connect_rooms(self, messages: Callable[[Message], Awaitable[bool]],
                      errors: Callable[[Message], Awaitable[None]]) -> None:
        """Room stanzas go to `messages` first (True: taken), bounced ones to `errors`."""
        self._room_messages = messages
        self._room_errors = errors

    # -- connection supervision ----------------------------------------------------------------------------
    def start(self) -> None:
        self._stopping = False
        self._supervisor = asyncio.create_task(self._supervise(), name=f"component-{self.domain}")

    async def wait_connected(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while self.state is not State.CONNECTED:
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(0.02)
        return True

    async def stop(self, drain_timeout: float = 5.0) -> None:
        """Finish what is in flight, tell users our contacts went offline, and close the stream."""
        self._stopping = True  # from here on a lost stream is not reconnected
        if self.state is State.CONNECTED:
            await self._handled()
            if not await self.outbox.wait_empty(drain_timeout):
                log.warning("%s: %d stanza(s) not confirmed before shutdown; they stay in the journal",
                            self.domain, len(self.outbox))
            for contact, user in sorted(self._presented):
                self.send_presence(pfrom=contact, pto=user, ptype="unavailable")
            self._presented.clear()
            await self.disconnect(wait=2.0, reason="gateway shutting down")
        # Messages the server wrote before it saw our stream close are journaled now; their echoes or
        # errors wait in the journal for the next start.
        await self._handled()
        if self._supervisor is not None:
            self._supervisor.cancel()
            await asyncio.gather(self._supervisor, return_exceptions=True)
        self.cancel_connection_attempt()
        self._set_state(State.STOPPED)

    async def _handled(self) -> None:
        await self._handling.wait()

    async def _supervise(self) -> None:
        backoff = Backoff(INITIAL_DELAY, self.reconnect_max_delay)
        first = True
        while not self._stopping:
            if not first:
                self._on_reconnect(self.domain)
            first = False
            self._set_state(State.CONNECTING)
            loop = asyncio.get_running_loop()
            self._attempt, self._stream_error = loop.create_future(), None
            self.connect(self.server_host, self.server_port)
            try:
                outcome = await asyncio.wait_for(asyncio.shield(self._attempt), HANDSHAKE_TIMEOUT)
            except TimeoutError:
                outcome = "the server did not answer the handshake in time"
                self.abort()
            if outcome == "connected":
                self._closed = loop.create_future()
                started = time.monotonic()
                await self._keep_alive(self._closed)
                if self._stopping:
                    break
                log.warning("%s: lost the connection to the XMPP server at %s:%s; reconnecting", self.domain,
                            self.server_host, self.server_port)
                if time.monotonic() - started > STABLE_AFTER:
                    backoff.reset()
            else:
                log.error("%s: cannot connect to the XMPP server at %s:%s: %s; retrying in %.0f s",
                          self.domain, self.server_host, self.server_port, outcome, backoff.delay)
            await asyncio.sleep(backoff.next())

    def _settle(self, outcome: str) -> None:
        if self._attempt is not None and not self._attempt.done():
            self._attempt.set_result(outcome)

    def _on_connection_failed(self, error: Any) -> None:
        self.cancel_connection_attempt()  # our supervisor retries, with its own capped backoff
        self._settle(f"connection failed ({error})")

    def _on_stream_error(self, error: Any) -> None:
        self._stream_error = str(error["condition"])

    def _on_session_start(self, _event: Any) -> None:
        log.info("%s: connected to the XMPP server at %s:%s", self.domain, self.server_host, self.server_port)
        self._set_state(State.CONNECTED)
        self._settle("connected")
        self.outbox.connected()

    def _on_disconnected(self, _reason: Any) -> None:
        self._partial = b""  # the next stream starts afresh
        refused = self._stream_error if self._stream_error in REFUSALS else None
        if refused is not None:
            log.error("%s: the XMPP server closed the stream over what the gateway wrote (%s)", self.domain, refused)
        self.outbox.disconnected(refused)
        if self.state is State.CONNECTED:
            self._set_state(State.DISCONNECTED)
        if self._stream_error in ("not-authorized", "host-unknown", "conflict"):
            hint = {"not-authorized": "check the component secret",
                    "host-unknown": "the server does not know this component domain",
                    "conflict": "another connection already serves this domain"}[self._stream_error]
            self._settle(f"the server refused the handshake ({self._stream_error}): {hint}")
        else:
            self._settle(f"the server closed the stream ({self._stream_error or 'no reason given'})")
        if self._closed is not None and not self._closed.done():
            self._closed.set_result(None)

    def _set_state(self, state: State) -> None:
        if state is not self.state:
            self.state = state
            self._on_state(self.domain, state)

    async def _keep_alive(self, closed: asyncio.Future[None]) -> None:
        """Wait for the stream to close; ping the server when idle (slixmpp's keepalive would reconnect
        behind the supervisor's back)."""
        while not closed.done():
            try:
                await asyncio.wait_for(asyncio.shield(closed), KEEPALIVE_INTERVAL)
            except TimeoutError:
                await self._ping_server()

    async def _ping_server(self) -> bool:
        """True once the server answered (a result or an error: either proves it processed the stream up to here);
        on a timeout the stream is cut, and the supervisor reconnects.

        Written as text and matched in incoming_filter, not with slixmpp's Iq.send: that builds a stanza, a handler
        and a closure per ping which refer to each other, about 25 objects that only a full collection of the garbage
        collector frees, and the outbox pings after every 64 stanzas (under load, full collections of 6-16 ms every
        few seconds freed thousands of them)."""
        ping_id = self.new_id()
        answered: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pings[ping_id] = answered
        try:
            # Through send, as the outbox writes: the ping must follow on the stream what it confirms.
            self.send(stanza_text.ping(id=ping_id, to=self._server_jid, sender=self.boundjid.full))
            async with asyncio.timeout(PING_TIMEOUT):
                await answered
        except TimeoutError:
            log.warning("%s: the XMPP server did not answer a ping within %.0f s; reconnecting", self.domain,
                        PING_TIMEOUT)
            self.abort()
            return False
        finally:
            del self._pings[ping_id]
        return True

    # -- disco --------------------------------------------------------------------------------------------
    def _setup_disco(self) -> None:
        disco = self.plugin["xep_0030"]
        disco.add_identity(category="gateway", itype=self.adapter.gateway_type,
                           name=self.adapter.description.split(":")[0], jid=self.boundjid)
        for feature in ("http://jabber.org/protocol/disco#info", "http://jabber.org/protocol/disco#items",
                        "urn:xmpp:ping", "jabber:iq:version", "urn:xmpp:receipts",
                        *((GATEWAY_NS,) if self.adapter.prompt is not None else ()),
                        *self.adapter.features):
            disco.add_feature(feature, jid=self.boundjid)

    def send(self, data: Any, use_filters: bool = True) -> None:
        """Every stanza written past the outbox is sanitised (wire.py) and goes after what the outbox holds for this
        turn (it keeps order)."""
        outbox: AckedOutbox | None = getattr(self, "outbox", None)
        if outbox is not None:
            outbox.flush()
        if not isinstance(data, str):
            wire.sanitize(data.xml)
        super().send(data, use_filters)

    def data_received(self, data: bytes | str) -> None:
        """What the server writes, with every `}` in a namespace name written %7D before the parser sees it.

        ElementTree's parser (expat) separates a namespace from the element's name with `}`: a namespace holding
        one is a syntax error that ends the whole stream, so one client could cut every user's component. The
        servers write attribute values escaped (no raw quote or `>` in them), so a namespace declaration is found
        by a pattern once the tags it may be in are whole; the end of a tag still open waits for the next read.
        """
        raw = self._partial + (data.encode() if isinstance(data, str) else data)
        cut = raw.rfind(b"<")
        if cut != -1 and raw.find(b">", cut) == -1:
            raw, self._partial = raw[:cut], raw[cut:]
        else:
            self._partial = b""
        if b"}" in raw:
            raw = _NAMESPACE_DECLARATION.sub(lambda m: m.group(0).replace(b"}", b"%7D"), raw)
        super().data_received(raw)

    def send_raw(self, data: str | bytes) -> None:
        """Written at the end of this turn of the loop, with everything else written in it: one system call for
        the stanzas of a batch (a room line to 20 users is 20 stanzas), not one each. In order: every write of
        the stream comes here.

        What slixmpp's send queue still holds when the stream is gone is dropped with a debug line, not a
        traceback (e.g. the handshake after a host-unknown): the outbox writes its own again on the next stream."""
        self._unwritten.append(data.encode() if isinstance(data, str) else data)
        if len(self._unwritten) == 1:
            self.loop.call_soon(self._write_unwritten)

    def _write_unwritten(self) -> None:
        data, self._unwritten = b"".join(self._unwritten), []
        try:
            super().send_raw(data)
        except NotConnectedError:
            log.debug("%s: not written, the stream is closed: %.100s", self.domain, data)

    # -- stanzas in ---------------------------------------------------------------------------------------
    def incoming_filter(self, xml: ET.Element) -> ET.Element:
        """A stanza too deep or too large to copy is answered with an error here and goes no further; the server's
        answer to a ping of ours is taken here (see _ping_server)."""
        if self._pings and xml.tag == self._iq_tag and xml.get("type") in ("result", "error") \
                and xml.get("from") == self._server_jid:
            answered = self._pings.get(xml.get("id", ""))
            if answered is not None:
                if not answered.done():
                    answered.set_result(None)
                return self._taken()
        xml = super().incoming_filter(xml)
        kind = xml.tag.rpartition("}")[2]
        answerable = kind in ("message", "presence", "iq") and xml.get("type") not in ("error", "result")
        unheld = next((address for address in (xml.get("to"), xml.get("from")) if address and not _held(address)),
                      None)
        if unheld is not None:
            # slixmpp would raise InvalidJID at the first look at the address: no handler could answer.
            log.warning("%s: refused a %s: slixmpp cannot hold the address %r", self.domain, kind, unheld)
            if answerable and xml.get("from") and xml.get("to"):
                self.send(error_text(kind, id=xml.get("id"), to=xml.get("from", ""), sender=xml.get("to", ""),
                                     condition="jid-malformed",
                                     text=f"This gateway cannot handle the address {unheld!r}."))
            return self._taken()
        why = wire.too_complex(xml)
        if why is None:
            return xml
        log.warning("%s: refused a %s from %s: %s", self.domain, kind, xml.get("from"), why)
        if answerable:
            reply = bounce(self, kind, id=xml.get("id"), to=xml.get("from", ""), sender=xml.get("to", ""),
                           condition="not-acceptable", text=f"This stanza was not processed: {why}.")
            if reply is not None:
                reply.send()
        return self._taken()

    def _taken(self) -> ET.Element:
        """What incoming_filter returns for a stanza it dealt with itself: an element no handler takes."""
        return ET.Element(f"{{{self.default_ns}}}refused")

    def _check_iq(self, stanza: Any) -> Any:
        """RFC 6120 8.2.3: a request carries exactly one payload and is answered once, whatever it holds."""
        xml = stanza.xml
        if xml.tag != self._iq_tag:
            return stanza
        kind = xml.get("type")
        if kind in ("result", "error"):
            return stanza
        if kind not in ("get", "set"):
            answer_error(self, stanza, "bad-request", f"An IQ has the type get, set, result or error, not {kind!r}.")
            return None
        payloads = [child for child in xml if child.tag != "{jabber:component:accept}error"]
        if len(payloads) != 1:
            answer_error(self, stanza, "bad-request", f"An IQ {kind} carries exactly one payload, not {len(payloads)}.")
            return None
        namespace = payloads[0].tag[1:].partition("}")[0]
        wanted = _IQ_TYPES.get(namespace)
        if wanted is not None and kind != wanted:
            answer_error(self, stanza, "bad-request", f"{namespace} is asked with an IQ {wanted}, not {kind}.")
            return None
        return stanza

    def _take_user_messages(self, stanza: Any) -> Any:
        """A user's chat or group-chat message goes straight to our handler, the only one that wants it.

        slixmpp tries every registered handler on every stanza and copies the stanza for each that matches (here
        also its own catch-all 'message' handler): on the busiest path that cost more than the message itself.
        Anything else (the server's own messages, e.g. XEP-0356 privileges; errors) takes slixmpp's way.
        """
        xml = stanza.xml
        if (xml.tag == self._message_tag and xml.get("type") in ("chat", "groupchat")
                and "@" in xml.get("from", "")):
            self._start_handling(stanza)
            return None
        return stanza

    def _start_handling(self, stanza: Any) -> None:  # a Message; slixmpp types handlers loosely
        # A task of our own, so that stop() can wait until every message read from the stream is journaled.
        self._handling.spawn(self._on_message(stanza))

    async def _on_message(self, stanza: Message) -> None:
        kind = stanza["type"]
        if kind == "error" and self._room_errors is not None:
            await self._room_errors(stanza)
            return
        if kind in ("error", "headline"):
            return
        body = stanza["body"]
        # Six bytes are the most a character takes (&quot;): most bodies need no count.
        if len(body) * 6 > self.max_stanza_size - ENVELOPE and (size := wire.escaped_size(body)) > (
                self.max_stanza_size - ENVELOPE):
            self._error(stanza, "not-acceptable", f"This message is too long: {size // 1024} KiB as XML, and the "
                                                  f"gateway writes at most {self.max_stanza_size // 1024} KiB.")
            return
        room_stanza = kind == "groupchat" or bool(stanza["to"].resource)
        if self._room_messages is not None and room_stanza and await self._room_messages(stanza):
            return
        if kind == "groupchat":
            return
        sender, to = stanza["from"], stanza["to"]
        if not to.user:
            if body.strip():
                reply = (await self._chat_commands(str(sender.bare), body) if self._chat_commands is not None
                         else self.adapter.help_text())
                self._reply(stanza, reply)
            return
        media = tuple(url.text.strip() for url in stanza.xml.findall(OOB_URLS) if url.text and url.text.strip())
        if media and all(line.strip() in media for line in body.splitlines() if line.strip()):
            body = ""  # clients put the URL in the body too, for those that ignore OOB: not a second copy
        if not body and not media:
            return  # chat states and other bodiless notifications carry nothing to send
        try:
            peer = self.adapter.normalize_peer(peer_of(to))
            await self.router.submit(OutboundMessage(
                transport=self.adapter.name, user=str(sender.bare), resource=sender.resource or None,
                peer=peer, body=body, xmpp_id=stanza["id"] or None,
                receipt_requested=bool(stanza["request_receipt"]), media=media))
        except Refusal as refusal:
            self._error(stanza, refusal.condition, refusal.text)
        except Exception:
            # e.g. the journal cannot be written: the sender must learn the message was not taken.
            log.exception("%s: cannot take the message %s from %s", self.domain, stanza["id"], sender)
            self._error(stanza, "internal-server-error", "The gateway could not take this message. Try again later.")

    def _on_gateway_prompt(self, iq: Any) -> None:
        if iq["type"] not in ("get", "set"):
            return  # a result or an error is never answered
        if iq["type"] == "get":
            reply = iq.reply()
            reply["gateway"]["desc"] = f"Enter the contact's {self.adapter.prompt}."
            reply["gateway"]["prompt"] = self.adapter.prompt
            reply.send()
            return
        try:
            address = self.adapter.address_from_prompt(iq["gateway"]["prompt"])
        except Refusal as refusal:
            answer_error(self, iq, "not-acceptable", refusal.text, "modify")
            return
        reply = iq.reply()
        reply["gateway"]["jid"] = str(peer_jid(address, self.domain))
        reply.send()

    def _reply(self, stanza: Message, text: str) -> None:
        self.make_message(mto=stanza["from"], mfrom=stanza["to"], mbody=text, mtype="chat").send()

    def _error(self, stanza: Message, condition: ErrorCondition, text: str) -> None:
        etype: ErrorType = "modify" if condition in ("jid-malformed", "bad-request") else "cancel"
        answer_error(self, stanza, condition, text, etype)

    async def _on_subscribe(self, presence: Presence) -> None:
        self.send_presence(pfrom=presence["to"].bare, pto=presence["from"].bare, ptype="subscribed")
        await self._present(presence["to"], presence["from"])

    async def _on_probe(self, presence: Presence) -> None:
        await self._present(presence["to"], presence["from"])

    async def _present(self, contact: JID, user: JID) -> None:
        """Answer with what the transport knows of the contact (the component itself is always there)."""
        known = self.adapter.contact_presence(str(user.bare), peer_of(contact)) if contact.user else None
        if known is None or known.available:
            self.send_presence(pfrom=contact.bare, pto=user.bare, pshow=known.show if known else None,
                               pstatus=known.status if known else None)
            # Kept to say "unavailable" when the user leaves or the gateway stops: for its users only. Anyone
            # may probe any address here, and kept for a stranger, it would grow with every address probed.
            if await self._may_use(str(user.bare)):
                self._presented.add((str(contact.bare), str(user.bare)))
        else:
            self.send_presence(pfrom=contact.bare, pto=user.bare, ptype="unavailable", pstatus=known.status)
            self._presented.discard((str(contact.bare), str(user.bare)))

    async def _may_use(self, user: str) -> bool:
        try:
            await self.router.access.check(user, self.adapter.name)
        except Refusal:
            return False
        return True

    def forget_user(self, user: str) -> None:
        """A user who left: the contacts shown to them as available go offline, and nothing of them is kept."""
        for contact, shown_to in sorted(self._presented):
            if shown_to == user:
                self.send_presence(pfrom=contact, pto=user, ptype="unavailable")
                self._presented.discard((contact, shown_to))

    def _on_unsubscribe(self, presence: Presence) -> None:
        self.send_presence(pfrom=presence["to"].bare, pto=presence["from"].bare, ptype="unsubscribed")
        self._presented.discard((str(presence["to"].bare), str(presence["from"].bare)))

    def new_id(self) -> str:
        """A stanza id unique to this process: slixmpp's is a uuid4 (an os.urandom call) for every stanza made, a
        message's own id set right after included; a counter behind a random prefix is as unique, and cheaper."""
        return f"{self._id_prefix}{next(self._ids)}"

    # -- core events out (XmppSink) ---------------------------------------------------------------------
    def deliver(self, message: InboundMessage) -> asyncio.Future[None]:
        stanza = self.make_message(mto=message.user, mfrom=peer_jid(message.peer, self.domain),
                                   mbody=message.body, mtype="chat")
        stanza["id"] = message.xmpp_id
        for url in message.media:  # one OOB element each; the body carries the URLs for clients without OOB
            oob = ET.SubElement(stanza.xml, f"{{{OOB_NS}}}x")
            ET.SubElement(oob, f"{{{OOB_NS}}}url").text = url
        if message.sender_name:
            stanza["nick"]["nick"] = message.sender_name
        if message.timestamp:
            stanza["delay"].set_stamp(message.timestamp)
        return self.outbox.send(stanza)

    def undeliverable(self, message: InboundMessage, reason: str) -> None:
        # A plain notice, not journaled: the message itself is kept as failed, with the reason.
        text = (f"The gateway could not show you a message from {message.room_nick or message.peer} here: {reason}."
                " It is kept in the gateway's journal.")
        self.make_message(mto=message.user, mfrom=peer_jid(message.peer, self.domain), mbody=text, mtype="chat").send()

    def report(self, outcome: Outcome) -> asyncio.Future[None]:
        message = outcome.message
        to = f"{message.user}/{message.resource}" if message.resource else message.user
        sender = peer_jid(message.peer, self.domain)
        if outcome.status is Status.DELIVERED:
            stanza = self.make_message(mto=to, mfrom=sender)
            stanza["id"] = f"receipt-{message.journal_id}"
            stanza["receipt"] = message.xmpp_id or ""
        else:
            stanza = bounce(self, "message", id=message.xmpp_id or f"error-{message.journal_id}", to=to, sender=sender,
                            condition=outcome.error_condition or "undefined-condition",
                            text=outcome.error_text or "The message could not be delivered.", etype=outcome.error_type)
            if stanza is None:
                raise Undeliverable(f"no error can be addressed to {to!r}")
        return self.outbox.send(stanza)
