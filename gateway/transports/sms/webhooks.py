"""Twilio's webhooks: inbound texts and status callbacks, authenticated by X-Twilio-Signature (fail closed).

A request is stored before it is answered 200; anything that goes wrong before that gives Twilio an error
status, so it tries again. Duplicates (Twilio retries) are recognised by MessageSid in the journal.
A request that is not Twilio's, or not what Twilio sends, gets a 4xx with the reason and one warning in the log.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from aiohttp import web
from twilio.request_validator import RequestValidator

from gateway.transports.sms.settings import SmsSettings
from gateway.transports.sms.webhook_form import Form, Refused, read_body, show, signed_fields

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

Handler = Callable[[web.Request], Awaitable[web.Response]]


class SmsWebhooks:
    inbound_path = "/sms/inbound"
    status_path = "/sms/status"

    def __init__(self, settings: SmsSettings, public_url: str, transport: SmsTransport) -> None:
        self._settings = settings
        self._public_url = public_url.rstrip("/")
        self._transport = transport
        self._validator = RequestValidator(settings.auth_token.get_secret_value())

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
        if not self._validator.validate(url, signed_fields(body), signature):
            raise Refused(403, "invalid X-Twilio-Signature")
        form = Form.parse(request, body)
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
        await self._transport.inbound(sender, recipient, form.text("Body"), sid, media)
        return web.Response(text=EMPTY_TWIML, content_type="text/xml")

    async def _status(self, request: web.Request) -> web.Response:
        form = await self._verified(request)
        [status] = form.require("MessageStatus", max_length=MAX_SHORT)
        journal_id, part, parts = _callback_ids(Form(request.query))
        error_code = form.number("ErrorCode", 0, 999_999, default=0) or None
        await self._transport.status(journal_id, part, parts, status, error_code,
                                     form.get("From", MAX_SHORT) or None)
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
