"""SMS through Twilio: checks and cost control, a throttled outbox per sending number, webhooks for replies.

Every text is journaled before anything else happens (the router does that), marked 'sending' before the API
call and 'sent' with Twilio's SID after it; a restart resumes what is open, asking Twilio first about anything
that may already have been created.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, ClassVar

from aiohttp import web

from gateway.core.events import InboundMessage, JournalError, OutboundMessage, Outcome, Refusal, Status
from gateway.store.sms import SendingNumber
from gateway.transports.base import AddressError, Transport, TransportContext
from gateway.transports.sms.addressing import is_e164, local_part_to_e164, prompt_to_e164
from gateway.transports.sms.errors import TwilioErrorInfo, describe, part_not_delivered
from gateway.transports.sms.outbox import Outbox
from gateway.transports.sms.segments import MAX_BODY, count_segments, split_body, utf16_length
from gateway.transports.sms.sender import Request, Result, TwilioSender
from gateway.transports.sms.settings import SmsSettings
from gateway.transports.sms.webhooks import STORED_STATUSES, SmsWebhooks

if TYPE_CHECKING:
    from twilio.rest import Client

log = logging.getLogger(__name__)

MAX_MEDIA = 10
OPT_OUT_WORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"})
OPT_IN_WORDS = frozenset({"START", "UNSTOP", "YES"})
# A status callback for a text still being handed to Twilio waits this long for that to finish, so that it is
# applied after (never overwritten by) the 'sent' the transmission records. Twilio waits 15 s for an answer.
STATUS_WAIT = 10.0
UNKNOWN_TEXT = ("The SMS provider did not answer, and it cannot tell whether your text was sent. Check with "
                "the recipient before you send it again.")


@dataclass(frozen=True)
class _Job:
    message: OutboundMessage
    sender: str
    parts: tuple[str, ...]
    segments: int


class SmsTransport(Transport[SmsSettings]):
    name = "sms"
    gateway_type = "sms"
    description = ("SMS: write to +<country code><number>@this-domain (e.g. +14155552671) to text a phone; "
                   "replies come back from the same address.")
    prompt = "phone number"
    # Retries of a create that did not get through (429, no connection, 5xx or timeout after reconciliation),
    # with pauses doubling from `retry_backoff` seconds (core/backoff.py).
    retries: ClassVar[int] = 5
    retry_backoff: ClassVar[float] = 1.0

    def __init__(self, settings: SmsSettings, context: TransportContext) -> None:
        super().__init__(settings, context)
        self._store = context.store
        self._outbox: Outbox[_Job] = Outbox(settings.rate, settings.burst, self._transmit)
        self._sender: TwilioSender | None = None
        self._client: Client | None = None
        self._sdk: asyncio.Future[None] | None = None  # the SDK loading (see start)
        self._started_at = datetime.now(UTC)
        self._in_flight: dict[int, asyncio.Event] = {}  # journal ids being handed to Twilio now
        self._turns: dict[str, asyncio.Future[None]] = {}  # per user: the last text being checked
        self.webhooks = SmsWebhooks(settings, context.public_url, self, self.name)

    # -- lifecycle ------------------------------------------------------------------------------------------
    async def start(self) -> None:
        self._started_at = datetime.now(UTC)
        # Loading the SDK (requests and urllib3 under it, then its API modules) took a tenth of the gateway's
        # start-up, and no component needs it to connect: it loads in a thread meanwhile; the first text waits.
        self._sdk = asyncio.ensure_future(asyncio.to_thread(_load_sdk))
        self._sdk.add_done_callback(_report_sdk)

    async def _ready_sender(self) -> TwilioSender:
        if self._sender is None:
            assert self._sdk is not None, "start() first"
            await self._sdk
            if self._sender is None:  # not built by another text while this one waited
                from gateway.transports.sms.twilio_client import make_client

                client = self._client = make_client(self.settings)
                self._sender = TwilioSender(client, retries=self.retries, backoff=self.retry_backoff,
                                            known=self._known_sids, max_requests=self.settings.max_requests)
        return self._sender

    async def stop(self) -> None:
        await self._outbox.close()
        await self.webhooks.close()
        if self._sdk is not None:
            await asyncio.gather(self._sdk, return_exceptions=True)  # a thread cannot be cancelled
        if self._client is not None:
            from gateway.transports.sms.twilio_client import close_client

            await close_client(self._client)

    async def _known_sids(self, sids: Sequence[str], journal_id: int | None) -> set[str]:
        return await self._store.sms.known_sids(self.name, sids, other_than=journal_id)

    def routes(self) -> list[web.RouteDef]:
        return self.webhooks.routes()

    # -- addresses --------------------------------------------------------------------------------------------
    def normalize_peer(self, local_part: str) -> str:
        """The number, written canonically; one that `number_check` refuses is checked again in `send`, where the
        user is known: a number that texted them is real, whatever phonenumbers thinks of it."""
        try:
            return self._checked_number(local_part)
        except AddressError:
            if is_e164(local_part.strip()):
                return local_part.strip()
            raise

    def _checked_number(self, local_part: str) -> str:
        return local_part_to_e164(local_part, self.settings.default_region, check=self.settings.number_check,
                                  domain=self.settings.jid)

    def address_from_prompt(self, text: str) -> str:
        return prompt_to_e164(text, self.settings.default_region, check=self.settings.number_check)

    # -- out ------------------------------------------------------------------------------------------------
    async def send(self, message: OutboundMessage) -> None:
        """Check and queue a text. A user's texts are checked one at a time, in the order they arrive here (the
        journal's), so that they are queued, and counted against the daily limit, in that order."""
        previous = self._turns.get(message.user)
        turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._turns[message.user] = turn
        try:
            if previous is not None:
                await asyncio.wait({previous})  # not `await previous`: a cancelled waiter must not cancel it
            try:
                await self._check_peer(message)
            except AddressError as error:  # "modify", as for a refusal of the address before it was journaled
                await self.router.outcome(Outcome(message, Status.FAILED, error_condition=error.condition,
                                                  error_text=error.text, error_type="modify"))
                return
            job = await self._checked(message)
            if self._outbox.closed:  # stopping: it stays accepted in the journal, and the next start sends it
                log.info("SMS %s stays queued in the journal until the next start", message.journal_id)
                return
            self._outbox.put(job.sender, job)
        finally:
            turn.set_result(None)
            if self._turns.get(message.user) is turn:
                del self._turns[message.user]

    async def _check_peer(self, message: OutboundMessage) -> None:
        """Raise AddressError if `number_check` refuses the peer and it never texted this user (the journal says)."""
        try:
            self._checked_number(message.peer)
        except AddressError:
            if not await self._store.sms.has_texted(self.name, message.user, message.peer):
                raise

    async def _checked(self, message: OutboundMessage) -> _Job:
        """The job for a text the user may send; raise Refusal with the reason otherwise."""
        if len(message.media) > MAX_MEDIA:
            raise Refusal("not-acceptable", f"A text can carry at most {MAX_MEDIA} attachments; this one has "
                                            f"{len(message.media)}. Send them in several messages.")
        parts = self._parts(message.body)
        numbers = await self._store.sms.sending_numbers(self.name, message.user, message.peer)
        sender = _sender_number(numbers)
        if any(n.peer_opted_out for n in numbers if n.address == sender):
            raise Refusal("forbidden", describe(21610).text)
        segments = sum(count_segments(part).segments for part in parts) or 1
        resumed = message.accepted_at is not None and message.accepted_at < self._started_at
        if not resumed and not await self._store.sms.reserve_segments(
                self.name, message.user, _today(), segments, self.settings.daily_segment_limit):
            raise Refusal("resource-constraint",
                          f"You have reached your daily limit of {self.settings.daily_segment_limit} SMS "
                          f"segments; this text ({segments} segment{'s' if segments != 1 else ''}) was not "
                          "sent. The limit resets at midnight UTC.")
        return _Job(message, sender, parts, segments)

    def _parts(self, body: str) -> tuple[str, ...]:
        if utf16_length(body) <= MAX_BODY:
            return (body,)
        if self.settings.long_messages == "refuse":
            raise Refusal("not-acceptable", f"This text is {len(body)} characters long; texts may have at most "
                                            f"{MAX_BODY}. Shorten it or send it in several messages.")
        return tuple(split_body(body))

    async def _transmit(self, job: _Job) -> None:
        message = job.message
        assert message.journal_id is not None and message.accepted_at is not None
        done = self._in_flight[message.journal_id] = asyncio.Event()
        try:
            sender = await self._ready_sender()
            await self.router.outcome(Outcome(message, Status.SENDING))
            sids: list[str] = []
            for index, part in enumerate(job.parts, start=1):
                await self._outbox.pace(job.sender)  # right before each request: Twilio sees the configured rate
                callback = (f"{self.context.public_url}{self.webhooks.status_path}"
                            f"?j={message.journal_id}&part={index}&of={len(job.parts)}")
                request = Request(to=message.peer, body=part, sender=job.sender,
                                  messaging_service_sid=self.settings.messaging_service_sid,
                                  media=message.media if index == 1 else (), status_callback=callback,
                                  started=message.accepted_at, journal_id=message.journal_id)
                result = await sender.create(request, maybe_created=message.attempted, exclude=set(sids))
                if result.result is Result.CREATED:
                    assert result.sid is not None
                    sids.append(result.sid)
                    continue
                if index == 1:  # nothing went out: the segments were not used
                    await self._store.sms.release_segments(self.name, message.user, _today(), job.segments)
                if result.result is Result.UNKNOWN:
                    await self.router.outcome(Outcome(message, Status.UNKNOWN, error_condition="undefined-condition",
                                                      error_text=UNKNOWN_TEXT))
                else:
                    assert result.error is not None
                    await self.failed(message, job.sender, result.error)
                return
            await self.router.outcome(Outcome(message, Status.SENT, provider_id=sids[0]))
        except JournalError as error:  # Twilio may have it: not "could not send"
            log.error("SMS %s: a journal write failed (%s)", message.journal_id, error)
            await self.router.unknown(message)
        except Exception:
            log.exception("SMS %s could not be sent", message.journal_id)
            await self.router.outcome(Outcome(message, Status.FAILED, error_condition="internal-server-error",
                                              error_text="The gateway could not send this text."))
        finally:
            self._in_flight.pop(message.journal_id, None)
            done.set()

    async def failed(self, message: OutboundMessage, sender: str | None, error: TwilioErrorInfo,
                     provider_id: str | None = None) -> None:
        """Tell the sender why a text failed; a 21610 also marks the recipient as opted out of `sender`."""
        if error.opt_out and sender:
            await self._store.sms.opt_out(sender, message.peer)
        await self.router.outcome(Outcome(message, Status.FAILED, provider_id=provider_id,
                                          error_condition=error.condition, error_text=error.text,
                                          error_type=error.type))

    # -- in -------------------------------------------------------------------------------------------------
    async def inbound(self, sender: str, recipient: str, body: str, message_sid: str, media: tuple[str, ...]
                      ) -> None:
        """A text to one of our numbers: store it for every user of that number (or keep it, if none)."""
        keyword = body.strip().upper()
        if keyword in OPT_IN_WORDS and await self._store.sms.opt_in(recipient, sender):
            log.info("%s opted in again to texts from %s", sender, recipient)
        elif keyword in OPT_OUT_WORDS:
            await self._store.sms.opt_out(recipient, sender)
        text = "\n".join(filter(None, (body, *media)))  # URLs in the body too, for clients without OOB
        users = await self._store.sms.recipients(self.name, recipient, sender)
        if not users:
            await self.router.hold(InboundMessage(self.name, "", sender, text, provider_id=message_sid,
                                                  media=media), Status.UNROUTABLE)
            return
        for user in users:
            if user.blocks_sender:
                await self.router.hold(InboundMessage(self.name, user.jid, sender, text, provider_id=message_sid,
                                                      media=media), Status.BLOCKED)
                continue
            await self.router.receive(InboundMessage(self.name, user.jid, sender, text, provider_id=message_sid,
                                                     media=media, sender_name=user.sender_name))

    async def status(self, journal_id: int, part: int, parts: int, status: str, error_code: int | None,
                     sender: str | None, sid: str | None) -> None:
        """A status callback: a receipt once every part is delivered, an error as soon as one part fails.

        The first part's SID is the text's provider id: recorded here too, since a stop during the create can
        leave the callback as the only word of it."""
        if status not in STORED_STATUSES:
            return  # queued, sent...: nothing to tell yet
        failed = status != "delivered"
        in_flight = self._in_flight.get(journal_id)
        if in_flight is not None:  # Twilio can call back before its answer to the create is recorded
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(in_flight.wait(), STATUS_WAIT)
        message = await self.router.open_outbound(self.name, journal_id)
        if message is None:
            return  # already settled (Twilio repeats callbacks) or unknown
        # A text in several parts is delivered once every part is; the parts' states outlive a restart.
        delivered = await self._store.sms.record_part(journal_id, part, status, error_code) if parts > 1 else 1
        provider_id = sid if part == 1 else None
        if failed:
            error = describe(error_code)
            await self.failed(message, sender, error if parts == 1 else part_not_delivered(error, part, parts),
                              provider_id)
        elif delivered == parts:
            await self.router.outcome(Outcome(message, Status.DELIVERED, provider_id=provider_id))


def _load_sdk() -> None:
    """Import the twilio SDK's modules that sending uses: the client, and the API modules that the client's
    `messages` would import on first use."""
    importlib.import_module("gateway.transports.sms.twilio_client")
    importlib.import_module("twilio.rest.api.v2010.account.message")


def _report_sdk(loading: asyncio.Future[None]) -> None:
    if not loading.cancelled() and loading.exception() is not None:
        log.error("the twilio SDK cannot be loaded, so no text can be sent: %r", loading.exception())


def _sender_number(numbers: Sequence[SendingNumber]) -> str:
    """The user's default number, or the one their mapping of the peer names."""
    if not numbers:
        raise Refusal("forbidden", "No phone number is bound to your account, so you cannot send texts. "
                                   "Ask an admin to bind one (xmpp-gateway admin sms bind).")
    contact_name, via = numbers[0].contact_name, numbers[0].contact_via
    if via:
        if via not in {n.address for n in numbers}:
            raise Refusal("forbidden", f"Your contact {contact_name} is to be texted from {via}, which "
                                       "is no longer bound to you. Ask an admin to change the mapping.")
        return via
    return next((n.address for n in numbers if n.is_default), numbers[0].address)


def _today() -> date:
    return datetime.now(UTC).date()
