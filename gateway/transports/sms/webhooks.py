"""Twilio's webhooks: inbound texts and status callbacks, authenticated by X-Twilio-Signature (fail closed).

A request is stored before it is answered 200; anything that goes wrong before that gives Twilio an error
status, so it tries again. Duplicates (Twilio retries) are recognised by MessageSid in the journal.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING

from aiohttp import web
from twilio.request_validator import RequestValidator

from gateway.transports.sms.settings import SmsSettings

if TYPE_CHECKING:
    from gateway.transports.sms.transport import SmsTransport

log = logging.getLogger(__name__)

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


class SmsWebhooks:
    inbound_path = "/sms/inbound"
    status_path = "/sms/status"

    def __init__(self, settings: SmsSettings, public_url: str, transport: SmsTransport) -> None:
        self._settings = settings
        self._public_url = public_url.rstrip("/")
        self._transport = transport
        self._validator = RequestValidator(settings.auth_token.get_secret_value())

    def routes(self) -> list[web.RouteDef]:
        return [web.post(self.inbound_path, self._inbound), web.post(self.status_path, self._status)]

    async def _verified(self, request: web.Request) -> Mapping[str, str]:
        """The POST parameters, once the signature proves Twilio (or the sandbox) sent exactly these."""
        params = {key: str(value) for key, value in (await request.post()).items()}
        signature = request.headers.get("X-Twilio-Signature", "")
        # Twilio signs the URL it called: ours as the outside world sees it (configure [http] public_url).
        url = self._public_url + request.path_qs
        if not signature or not self._validator.validate(url, params, signature):
            log.warning("refused a webhook to %s: %s X-Twilio-Signature", request.path,
                        "invalid" if signature else "no")
            raise web.HTTPForbidden(text="invalid or missing X-Twilio-Signature")
        if params.get("AccountSid") != self._settings.account_sid:
            log.warning("refused a webhook for another Twilio account %s", params.get("AccountSid"))
            raise web.HTTPForbidden(text="this gateway does not serve that account")
        return params

    async def _inbound(self, request: web.Request) -> web.Response:
        params = await self._verified(request)
        _require(params, "From", "To", "MessageSid")
        media = tuple(params[f"MediaUrl{i}"] for i in range(_count(params, "NumMedia"))
                      if params.get(f"MediaUrl{i}"))
        await self._transport.inbound(params["From"], params["To"], params.get("Body", ""), params["MessageSid"],
                                      media)
        return web.Response(text=EMPTY_TWIML, content_type="text/xml")

    async def _status(self, request: web.Request) -> web.Response:
        params = await self._verified(request)
        _require(params, "MessageStatus")
        try:
            journal_id, part, parts = (int(request.query[k]) for k in ("j", "part", "of"))
        except (KeyError, ValueError):
            raise web.HTTPBadRequest(text="the callback URL lacks j, part and of") from None
        error_code = _count(params, "ErrorCode") or None
        await self._transport.status(journal_id, part, parts, params["MessageStatus"], error_code,
                                     params.get("From"))
        return web.Response(text=EMPTY_TWIML, content_type="text/xml")


def _require(params: Mapping[str, str], *names: str) -> None:
    missing = [name for name in names if not params.get(name)]
    if missing:
        raise web.HTTPBadRequest(text=f"missing parameter(s): {', '.join(missing)}")


def _count(params: Mapping[str, str], name: str) -> int:
    value = params.get(name, "0") or "0"
    if not value.isdigit():
        raise web.HTTPBadRequest(text=f"{name} is not a number: {value!r}")
    return int(value)
