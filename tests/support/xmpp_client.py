"""Small slixmpp helpers for tests against real servers on loopback (no TLS).

`TestClient` is an XMPP client account; `TestComponent` is a bare XEP-0114 component. Both wait
for their session in `start()` and fail fast with a clear error (bad password or secret, nothing
listening) instead of letting slixmpp retry forever.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, Literal

from slixmpp import JID, ClientXMPP, ComponentXMPP, Iq, Message
from slixmpp.basexmpp import BaseXMPP
from slixmpp.xmlstream import ET, ElementBase, StanzaBase
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

CLIENT_PLUGINS = ("xep_0030", "xep_0199", "xep_0092", "xep_0184", "xep_0359", "xep_0066")

MessagePredicate = Callable[[Message], bool]
IqType = Literal["get", "set"]


async def _connect_and_wait(xmpp: BaseXMPP, host: str, port: int, timeout: float, what: str) -> None:
    """connect() and wait for session_start; raise ConnectionError or TimeoutError otherwise."""
    loop = asyncio.get_running_loop()
    outcome: asyncio.Future[None] = loop.create_future()

    def fail(reason: str) -> Callable[[Any], None]:
        def handler(event: Any) -> None:
            if not outcome.done():
                outcome.set_exception(ConnectionError(f"{what} at {host}:{port}: {reason} ({event})"))

        return handler

    def started(_: Any) -> None:
        if not outcome.done():
            outcome.set_result(None)

    handlers: list[tuple[str, Callable[[Any], None]]] = [
        ("session_start", started),
        ("failed_all_auth", fail("authentication failed")),
        ("stream_error", fail("stream error")),  # e.g. a component's wrong secret
        ("connection_failed", fail("connection failed")),
    ]
    for name, handler in handlers:
        xmpp.add_event_handler(name, handler)
    try:
        xmpp.connect(host, port)
        try:
            await asyncio.wait_for(outcome, timeout)
        except TimeoutError:
            raise TimeoutError(f"{what} at {host}:{port}: no session within {timeout:g} s") from None
    except BaseException:
        # Stop slixmpp's reconnect loop so a failed start leaves nothing running.
        xmpp.cancel_connection_attempt()
        await xmpp.disconnect(wait=0)
        raise
    finally:
        for name, handler in handlers:
            xmpp.del_event_handler(name, handler)


class _MessageQueueMixin:
    """Collects every received <message/> stanza for next_message().

    slixmpp's own "message" event only fires for messages with a <body/>; tests also need
    receipts, errors and XEP-0356 grants, so this matches all message stanzas.
    """

    messages: asyncio.Queue[Message]

    def _collect_messages(self, xmpp: BaseXMPP) -> None:
        self.messages = asyncio.Queue()
        xmpp.register_handler(
            Callback("test message queue", MatchXPath(f"{{{xmpp.default_ns}}}message"), self._on_message)
        )

    def _on_message(self, msg: StanzaBase) -> None:
        assert isinstance(msg, Message)
        self.messages.put_nowait(msg)

    async def next_message(self, timeout: float = 5, predicate: MessagePredicate | None = None) -> Message:
        """The next received message (matching `predicate`, others are dropped) within `timeout` s."""

        async def wait() -> Message:
            while True:
                msg = await self.messages.get()
                if predicate is None or predicate(msg):
                    return msg

        try:
            return await asyncio.wait_for(wait(), timeout)
        except TimeoutError:
            raise TimeoutError(f"no matching message within {timeout:g} s") from None


class TestClient(_MessageQueueMixin, ClientXMPP):
    """A client account on loopback without TLS; `client['xep_0030']` etc. work as usual."""

    __test__ = False  # not a pytest test class

    def __init__(self, jid: str, password: str) -> None:
        # Loopback test servers have no certificates: plain TCP only. ejabberd 24 refuses SCRAM on plain TCP from
        # a client that could bind channels ("Invalid channel binding"), so PLAIN is the fallback there.
        super().__init__(jid, password, plugin_config={"feature_mechanisms": {"unencrypted_scram": True,
                                                                              "unencrypted_plain": True}})
        self.enable_direct_tls = False
        self.enable_starttls = False
        self.enable_plaintext = True
        for plugin in CLIENT_PLUGINS:
            self.register_plugin(plugin)
        self._collect_messages(self)

    async def start(self, host: str = "127.0.0.1", port: int = 5222, timeout: float = 10) -> None:
        """Log in and send initial presence (without it, servers store messages offline)."""
        await _connect_and_wait(self, host, port, timeout, f"client {self.boundjid.bare}")
        self.send_presence()
        await self.get_roster(timeout=timeout)

    async def stop(self) -> None:
        await self.disconnect(wait=1)

    async def iq(self, to: str, payload: ElementBase | ET.Element, type: IqType = "get", timeout: float = 5) -> Iq:
        """Send an IQ with `payload` and return the result (raises IqError / IqTimeout)."""
        iq = self.make_iq(ito=JID(to), itype=type)
        iq.append(payload)
        result: Iq = await iq.send(timeout=timeout)  # type: ignore[no-untyped-call]
        return result


class TestComponent(_MessageQueueMixin, ComponentXMPP):
    """A bare XEP-0114 component (no TLS) that records the messages routed to it."""

    __test__ = False

    def __init__(self, jid: str, secret: str) -> None:
        super().__init__(jid, secret)  # type: ignore[no-untyped-call]
        self.enable_direct_tls = False  # component streams on loopback are plain TCP
        self.register_plugin("xep_0030")
        self.register_plugin("xep_0199")
        self._collect_messages(self)

    async def start(self, host: str = "127.0.0.1", port: int = 5347, timeout: float = 10) -> None:
        await _connect_and_wait(self, host, port, timeout, f"component {self.boundjid.bare}")

    async def stop(self) -> None:
        await self.disconnect(wait=1)
