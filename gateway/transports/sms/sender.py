"""Creating one message through the Twilio API without ever sending it twice.

Creating a message is not idempotent. So only failures that prove the request never reached Twilio (429, a
refused connection) are retried; after a timeout, a 5xx or a dropped connection the message may exist, and
Twilio is asked for messages matching it before anything else is done.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import aiohttp
from twilio.base.exceptions import TwilioException, TwilioRestException

from gateway.transports.sms.errors import TwilioErrorInfo, describe

log = logging.getLogger(__name__)

# A message's DateSent may lag our clock a little; the window is wide enough for that and still narrow.
RECONCILE_SLACK = timedelta(minutes=2)


class Result(StrEnum):
    CREATED = "created"  # Twilio has it: `sid` is set
    REFUSED = "refused"  # Twilio refused it: nothing was sent, `error` says why
    UNKNOWN = "unknown"  # it may or may not exist, and Twilio cannot tell: the user must be told


@dataclass(frozen=True)
class Request:
    to: str
    body: str
    sender: str | None  # our number, or None when a Messaging Service sends
    messaging_service_sid: str | None
    media: tuple[str, ...]
    status_callback: str
    started: datetime  # when the first attempt began, for reconciliation after a crash too


@dataclass(frozen=True)
class Outcome:
    result: Result
    sid: str | None = None
    error: TwilioErrorInfo | None = None


class TwilioSender:
    def __init__(self, client: Any, *, retries: int = 5, backoff: float = 1.0, max_backoff: float = 30.0) -> None:
        self._client = client
        self._retries = retries
        self._backoff = backoff
        self._max_backoff = max_backoff

    async def create(self, request: Request, maybe_created: bool = False) -> Outcome:
        """Create the message; `maybe_created` when an earlier attempt (before a crash) may have reached Twilio."""
        delay = self._backoff
        for attempt in range(self._retries + 1):
            if maybe_created:
                outcome = await self.reconcile(request)
                if outcome is not None:
                    return outcome
            last = attempt == self._retries
            outcome, maybe_created = await self._attempt(request, last)
            if outcome is not None:
                return outcome
            await asyncio.sleep(delay)
            delay = min(delay * 2, self._max_backoff)
        return Outcome(Result.UNKNOWN)

    async def _attempt(self, request: Request, last: bool) -> tuple[Outcome | None, bool]:
        """One create: an outcome, or None to try again (and whether this try may have created it)."""
        try:
            message = await self._client.messages.create_async(**_create_args(request))
            return Outcome(Result.CREATED, sid=str(message.sid)), False
        except TwilioRestException as exc:
            if exc.status == 429 and not last:
                log.warning("Twilio asks us to slow down (429); retrying")
                return None, False
            if 400 <= exc.status < 500:
                return Outcome(Result.REFUSED, error=describe(exc.code, exc.msg)), False
            log.warning("Twilio answered %s to a create; asking whether the message exists", exc.status)
        except aiohttp.ClientConnectorError as exc:  # no connection, so the request never left
            if last:
                return Outcome(Result.REFUSED, error=describe(None, f"cannot reach the SMS provider: {exc}")), False
            log.warning("cannot reach Twilio (%s); retrying", exc)
            return None, False
        except (TimeoutError, aiohttp.ClientError) as exc:
            log.warning("no answer from Twilio to a create (%s); asking whether the message exists",
                        exc.__class__.__name__)
        return None, True

    async def reconcile(self, request: Request) -> Outcome | None:
        """Whether Twilio created a message for `request`: CREATED, UNKNOWN if it cannot tell, None if not."""
        filters: dict[str, Any] = {"to": request.to, "date_sent_after": request.started - RECONCILE_SLACK,
                                   "limit": 50}
        if request.sender:
            filters["from_"] = request.sender
        for attempt in range(3):
            try:
                messages = await self._client.messages.list_async(**filters)
                break
            except (TwilioException, TimeoutError, aiohttp.ClientError) as exc:
                log.warning("cannot list messages on Twilio (%s), attempt %d", exc, attempt + 1)
                await asyncio.sleep(self._backoff * (attempt + 1))
        else:
            return Outcome(Result.UNKNOWN)
        for message in messages:
            if (message.body or "") == request.body and _service_matches(message, request):
                log.info("Twilio did create %s; not sending it again", message.sid)
                return Outcome(Result.CREATED, sid=str(message.sid))
        return None


def _create_args(request: Request) -> dict[str, Any]:
    args: dict[str, Any] = {"to": request.to, "status_callback": request.status_callback}
    if request.body:
        args["body"] = request.body
    if request.media:
        args["media_url"] = list(request.media)
    if request.sender:
        args["from_"] = request.sender
    else:
        args["messaging_service_sid"] = request.messaging_service_sid
    return args


def _service_matches(message: Any, request: Request) -> bool:
    return request.sender is not None or getattr(message, "messaging_service_sid", None) == \
        request.messaging_service_sid
