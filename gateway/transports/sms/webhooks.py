"""Twilio's webhooks: inbound texts and status callbacks, authenticated by X-Twilio-Signature (fail closed).

A request is stored before it is answered 200; anything that goes wrong before that gives Twilio an error
status, so it tries again. Duplicates (Twilio retries) are recognised by MessageSid in the journal.
One that cannot be stored within STORE_TIMEOUT (database locked or down) is answered 503, before Twilio gives up
(15 s), so that Twilio turns to the number's fallback URL; storing it goes on, and a retry of the same request
while it does joins it instead of storing it a second time.
A request that is not Twilio's, or not what Twilio sends, gets a 4xx with the reason and one warning in the log.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import TYPE_CHECKING, Any, ClassVar

from aiohttp import web
from twilio.request_validator import RequestValidator

from gateway.core.text import show
from gateway.transports.sms.settings import SmsSettings
from gateway.transports.sms.webhook_form import Form, Refused, read_body, signed_fields

if TYPE_CHECKING:
    from gateway.transports.sms.transport import SmsTransport

log = logging.getLogger(__name__)

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
MAX_MEDIA = 10  # Twilio's limit per message
MAX_SHORT = 64  # MessageSid (34 characters), From and To (16, a few more as "whatsapp:+1..."), MessageStatus
MAX_JOURNAL_ID = 2**63 - 1  # the journal's ids are 64-bit signed integers in SQLite and PostgreSQL
# The transport splits a long text into parts of 1,600 characters with no fixed count; the daily segment limit
# (500 by default) and the XMPP server's stanza size (Prosody's 256 KiB: about 160 parts) keep it far below this.
MAX_PARTS = 1000
STORE_TIMEOUT = 10.0  # seconds; Twilio waits 15 s for an answer, then counts the request as failed
# The statuses a callback is stored for. The others (queued, sending, sent, ...: half the callbacks) change nothing
# the user is told, and are answered at once.
STORED_STATUSES = frozenset({"delivered", "failed", "undelivered"})

Handler = Callable[[web.Request], Awaitable[web.Response]]


def inbound_path(instance: str) -> str:
    """Where Twilio posts the texts to an instance's numbers. Each instance has a prefix of its own, its name,
    so an instance named sms keeps the /sms/... URLs configured at Twilio before there could be several."""
    return f"/{instance}/inbound"


def status_path(instance: str) -> str:
    return f"/{instance}/status"


class SmsWebhooks:
    store_timeout: ClassVar[float] = STORE_TIMEOUT

    def __init__(self, settings: SmsSettings, public_url: str, transport: SmsTransport, instance: str = "sms"
                 ) -> None:
        self.inbound_path = inbound_path(instance)
        self.status_path = status_path(instance)
        self._settings = settings
        self._public_url = public_url.rstrip("/")
        self._transport = transport
        self._validator = RequestValidator(settings.auth_token.get_secret_value())
        # Requests being stored, by URL and signature (the same for a retry of the same request).
        self._storing: dict[str, asyncio.Task[None]] = {}
        self._answered_503: set[asyncio.Task[None]] = set()

    async def close(self) -> None:
        """Wait for what is still being stored (requests answered 503 included)."""
        await asyncio.gather(*self._storing.values(), return_exceptions=True)

    def routes(self) -> list[web.RouteDef]:
        return [web.post(self.inbound_path, _refusing(self.inbound_path, self._inbound)),
                web.post(self.status_path, _refusing(self.status_path, self._status))]

    async def _verified(self, request: web.Request) -> Form:
        """The POST parameters, once the signature proves Twilio (or the sandbox) sent exactly these."""
        signature = request.headers.get("X-Twilio-Signature", "")
        if not signature:  # refused before reading a byte of the body
            raise Refused(403, "no X-Twilio-Signature")
        body = await read_body(request)
        # Twilio signs the URL it called: ours as the outside world sees it (configure [http] public_url).
        url = self._public_url + request.path_qs
        signed = signed_fields(body)
        if not self._validator.validate(url, signed, signature):
            raise Refused(403, "invalid X-Twilio-Signature")
        form = Form.parse(request, body, signed)
        account = form.get("AccountSid")
        if account != self._settings.account_sid:
            raise Refused(403, f"this gateway does not serve that account: {show(account)}")
        return form

    async def _inbound(self, request: web.Request) -> web.Response:
        form = await self._verified(request)
        sender, recipient, sid = form.require("From", "To", "MessageSid", max_length=MAX_SHORT)
        # MediaUrl0..N-1 only: NumMedia is bounded first, so a huge one costs nothing.
        media = tuple(url for i in range(form.number("NumMedia", 0, MAX_MEDIA, default=0))
                      if (url := form.get(f"MediaUrl{i}")))
        return await self._stored(request, self._transport.inbound(sender, recipient, form.text("Body"), sid, media))

    async def _status(self, request: web.Request) -> web.Response:
        form = await self._verified(request)
        [status] = form.require("MessageStatus", max_length=MAX_SHORT)
        journal_id, part, parts = _callback_ids(Form(request.query))
        if status not in STORED_STATUSES:
            return _ok()
        error_code = form.number("ErrorCode", 0, 999_999, default=0) or None
        return await self._stored(request, self._transport.status(journal_id, part, parts, status, error_code,
                                                                  form.get("From", MAX_SHORT) or None,
                                                                  form.get("MessageSid", MAX_SHORT) or None))

    async def _stored(self, request: web.Request, work: Coroutine[Any, Any, None]) -> web.Response:
        """200 once `work` has stored the request; 503 if it takes longer than `store_timeout` (it goes on)."""
        key = request.path_qs + " " + request.headers["X-Twilio-Signature"]
        task = self._storing.get(key)
        if task is None:
            task = self._storing[key] = asyncio.ensure_future(work)
            task.add_done_callback(lambda done: self._stored_late(key, done))
        else:
            work.close()  # a retry while the first is still being stored: wait for that one
        try:
            await asyncio.wait_for(asyncio.shield(task), self.store_timeout)
        except TimeoutError:
            log.warning("a webhook to %s could not be stored within %g s: answered 503 (Twilio turns to the "
                        "fallback URL); still storing it", request.path, self.store_timeout)
            self._answered_503.add(task)
            return web.Response(status=503, text="the gateway cannot store this request now")
        return _ok()

    def _stored_late(self, key: str, task: asyncio.Task[None]) -> None:
        if self._storing.get(key) is task:
            del self._storing[key]
        if task not in self._answered_503:
            return  # its request was answered with the result
        self._answered_503.discard(task)
        if task.cancelled():
            log.warning("a webhook answered 503 was not stored: the gateway stopped")
        elif (error := task.exception()) is not None:
            log.error("a webhook answered 503 could not be stored: %s: %s", type(error).__name__, error)
        else:
            log.info("a webhook answered 503 was stored after all")


def _ok() -> web.Response:
    return web.Response(text=EMPTY_TWIML, content_type="text/xml")


def _callback_ids(query: Form) -> tuple[int, int, int]:
    """j, part and of from the status callback URL we gave Twilio (signed with it, so only a bug makes them odd)."""
    try:
        parts = query.number("of", 1, MAX_PARTS)
        return query.number("j", 1, MAX_JOURNAL_ID), query.number("part", 1, parts), parts
    except Refused as refused:
        raise Refused(400, f"the callback URL lacks valid j, part and of: {refused.reason}") from None


def _refusing(path: str, handler: Handler) -> Handler:
    """`handler`, with a refusal answered by its status and reason and logged as one warning (no traceback)."""
    async def handle(request: web.Request) -> web.Response:
        try:
            return await handler(request)
        except Refused as refused:
            log.warning("refused a webhook to %s: %s", path, refused.reason)
            return web.Response(status=refused.status, text=refused.reason)

    return handle
