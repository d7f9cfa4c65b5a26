"""Creating one message through the Twilio API without ever sending it twice.

Creating a message is not idempotent. So only failures that prove the request never reached Twilio (429, a
refused connection) are retried; after a timeout, a 5xx or a dropped connection the message may exist, and
Twilio is asked for messages matching it before anything else is done.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence, Set
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import aiohttp
from twilio.base.exceptions import TwilioException, TwilioRestException

from gateway.core.backoff import Backoff
from gateway.transports.sms.errors import TwilioErrorInfo, describe

log = logging.getLogger(__name__)

# A message's DateSent may lag our clock a little; the window is wide enough for that and still narrow.
RECONCILE_SLACK = timedelta(minutes=2)
# Messages to one number in that window that a reconciliation looks through (the SDK pages through them).
RECONCILE_LIMIT = 1000


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
    # The text's journal row. A SID the row holds already (a status callback got there before the answer to
    # the create, or after a restart) is this text's own, and proves Twilio has it.
    journal_id: int | None = None


@dataclass(frozen=True)
class Outcome:
    result: Result
    sid: str | None = None
    error: TwilioErrorInfo | None = None


KnownSids = Callable[[Sequence[str], int | None], Awaitable[Set[str]]]


async def _none_known(sids: Sequence[str], journal_id: int | None) -> set[str]:
    return set()


class TwilioSender:
    """`known` tells which of some message SIDs already belong to texts of ours other than the journal row named
    (from the journal), so a reconciliation never mistakes an earlier text with the same body for the one it looks
    for."""

    def __init__(self, client: Any, *, retries: int = 5, backoff: float = 1.0, max_backoff: float = 30.0,
                 list_attempts: int = 3, known: KnownSids = _none_known, max_requests: int = 50) -> None:
        self._client = client
        # Requests to the API at once, over every sending number. A request waits for a slot before it starts,
        # so its timeout counts from there (the HTTP client's own pool would count the wait against it).
        self._slots = asyncio.Semaphore(max_requests)
        self._retries = retries
        self._backoff = backoff
        self._max_backoff = max_backoff
        self._list_attempts = list_attempts
        self._known = known

    async def create(self, request: Request, maybe_created: bool = False, exclude: Set[str] = frozenset()
                     ) -> Outcome:
        """Create the message; `maybe_created` when an earlier attempt (before a crash) may have reached Twilio.

        `exclude`: SIDs that a reconciliation must not take for this message (earlier parts of the same text).
        """
        backoff = Backoff(self._backoff, self._max_backoff)
        failure: TwilioErrorInfo | None = None
        for attempt in range(self._retries + 1):
            if maybe_created:
                outcome = await self.reconcile(request, exclude)
                if outcome is not None:
                    return outcome
            outcome, maybe_created, failure = await self._attempt(request, attempt == self._retries)
            if outcome is not None:
                return outcome
            await asyncio.sleep(backoff.next())  # before a retry, and before asking whether the last try got through
        # Every try failed in a way that may have created it (timeouts, 5xx): ask once more.
        outcome = await self.reconcile(request, exclude)
        if outcome is not None:
            return outcome
        log.warning("Twilio failed %d times on a create and has no such message; giving up", self._retries + 1)
        return Outcome(Result.REFUSED, error=failure or describe(None, "the SMS provider failed"))

    async def _attempt(self, request: Request, last: bool
                       ) -> tuple[Outcome | None, bool, TwilioErrorInfo | None]:
        """One create: an outcome, or None to try again, whether this try may have created it, and its error."""
        try:
            async with self._slots:
                message = await self._client.messages.create_async(**_create_args(request))
            return Outcome(Result.CREATED, sid=str(message.sid)), False, None
        except TwilioRestException as exc:
            if exc.status == 429 and not last:
                log.warning("Twilio asks us to slow down (429); retrying")
                return None, False, None
            if 400 <= exc.status < 500:
                return Outcome(Result.REFUSED, error=describe(exc.code, exc.msg)), False, None
            log.warning("Twilio answered %s to a create; asking whether the message exists", exc.status)
            return None, True, describe(exc.code, exc.msg)
        except aiohttp.ClientConnectorError as exc:  # no connection, so the request never left
            error = describe(None, f"cannot reach the SMS provider: {exc}")
            if last:
                return Outcome(Result.REFUSED, error=error), False, None
            log.warning("cannot reach Twilio (%s); retrying", exc)
            return None, False, error
        except (TimeoutError, aiohttp.ClientError) as exc:
            log.warning("no answer from Twilio to a create (%s); asking whether the message exists",
                        exc.__class__.__name__)
            return None, True, describe(None, "the SMS provider did not answer")

    async def reconcile(self, request: Request, exclude: Set[str] = frozenset()) -> Outcome | None:
        """Whether Twilio created a message for `request`: CREATED, UNKNOWN if it cannot tell, None if not."""
        filters: dict[str, Any] = {"to": request.to, "date_sent_after": request.started - RECONCILE_SLACK,
                                   "limit": RECONCILE_LIMIT}
        if request.sender:
            filters["from_"] = request.sender
        for attempt in range(1, self._list_attempts + 1):
            try:
                async with self._slots:
                    messages = await self._client.messages.list_async(**filters)
                break
            except (TwilioException, TimeoutError, aiohttp.ClientError) as exc:
                log.warning("cannot list messages on Twilio (%s), attempt %d", exc, attempt)
                if attempt < self._list_attempts:
                    await asyncio.sleep(self._backoff * attempt)
        else:
            return Outcome(Result.UNKNOWN)
        candidates = [m for m in reversed(messages)  # oldest first
                      if (m.body or "") == request.body and _service_matches(m, request)]
        if not candidates:
            return None
        known = set(exclude) | await self._known([str(m.sid) for m in candidates if str(m.sid) not in exclude],
                                                 request.journal_id)
        for message in candidates:
            if str(message.sid) not in known:
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
    if request.messaging_service_sid:  # with a From, Twilio sends through the service from that number
        args["messaging_service_sid"] = request.messaging_service_sid
    return args


def _service_matches(message: Any, request: Request) -> bool:
    return request.messaging_service_sid is None or getattr(message, "messaging_service_sid", None) == \
        request.messaging_service_sid
