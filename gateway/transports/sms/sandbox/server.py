"""The sandbox server: a Twilio-compatible Messages API, signed webhooks, and the "phone" page, all in memory."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import mimetypes
import re
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime
from typing import Any, Literal
from urllib.parse import urlencode

from aiohttp import BasicAuth, ClientError, ClientSession, ClientTimeout, web
from twilio.request_validator import RequestValidator

from gateway.core.tasks import TaskSet
from gateway.transports.sms.sandbox import magic
from gateway.transports.sms.sandbox.page import render_page
from gateway.transports.sms.segments import MAX_BODY, count_segments, utf16_length

log = logging.getLogger(__name__)

API_VERSION = "2010-04-01"
DEFAULT_SERVICE_FROM = "+15005550006"  # the sender a Messaging Service uses when no `numbers` are configured
MAX_MEDIA = 10

_E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
_ACCOUNT_SID = re.compile(r"^AC[0-9a-f]{32}$")
_MESSAGES = f"/{API_VERSION}/Accounts/{{account}}/Messages"

Direction = Literal["outbound-api", "inbound"]
Endpoint = Literal["create", "fetch", "list"]
_ENDPOINTS: dict[str, Endpoint] = {"create": "create", "fetch": "fetch", "list": "list"}


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)  # Twilio's timestamps have whole seconds


def _rfc2822(moment: datetime | None) -> str | None:
    return format_datetime(moment) if moment is not None else None


def new_sid(prefix: str = "SM") -> str:
    return prefix + uuid.uuid4().hex


@dataclass
class SandboxMessage:
    """One message the sandbox knows: created through the API (outbound-api) or sent from the phone (inbound)."""

    sid: str
    account_sid: str
    direction: Direction
    to: str
    from_: str
    body: str
    media: tuple[str, ...] = ()
    status: str = "queued"
    messaging_service_sid: str | None = None
    status_callback: str | None = None
    error_code: int | None = None
    error_message: str | None = None
    date_created: datetime = field(default_factory=_now)
    date_updated: datetime = field(default_factory=_now)
    date_sent: datetime | None = None

    @property
    def num_segments(self) -> int:
        return max(count_segments(self.body).segments, 1)

    @property
    def uri(self) -> str:
        return f"{_MESSAGES.format(account=self.account_sid)}/{self.sid}.json"

    def resource(self) -> dict[str, Any]:
        """The message as Twilio's API renders it."""
        return {
            "account_sid": self.account_sid,
            "api_version": API_VERSION,
            "body": self.body,
            "date_created": _rfc2822(self.date_created),
            "date_sent": _rfc2822(self.date_sent),
            "date_updated": _rfc2822(self.date_updated),
            "direction": self.direction,
            "error_code": self.error_code,
            "error_message": self.error_message,
            "from": self.from_,
            "messaging_service_sid": self.messaging_service_sid,
            "num_media": str(len(self.media)),
            "num_segments": str(self.num_segments),
            "price": None,
            "price_unit": "USD",
            "sid": self.sid,
            "status": self.status,
            "subresource_uris": {"media": self.uri.removesuffix(".json") + "/Media.json"},
            "to": self.to,
            "uri": self.uri,
        }


@dataclass(frozen=True)
class WebhookAttempt:
    """One POST of a status callback or inbound webhook, as the receiver answered it."""

    kind: Literal["status", "inbound"]
    url: str
    params: dict[str, str]
    signature: str
    status: int | None  # None: no HTTP answer (connection refused, timeout)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


@dataclass(frozen=True)
class InboundResult:
    sid: str
    delivered: bool
    attempts: int
    status: int | None  # the webhook's last HTTP status, None if it never answered (or there is no webhook)


@dataclass
class _Injected:
    status: int
    code: int
    message: str
    count: int
    on: Endpoint


def _error(status: int, code: int, message: str) -> web.Response:
    more_info = f"https://www.twilio.com/docs/errors/{code}"
    body = {"code": code, "message": message, "more_info": more_info, "status": status}
    headers = {"WWW-Authenticate": 'Basic realm="Twilio API"'} if status == 401 else None
    return web.json_response(body, status=status, headers=headers)


def _parse_when(value: str) -> tuple[datetime, datetime]:
    """The [start, end) interval a DateSent value names: a whole UTC day for YYYY-MM-DD, else one second."""
    value = value.strip()
    if len(value) == 10:
        day = date.fromisoformat(value)
        start = datetime(day.year, day.month, day.day, tzinfo=UTC)
        return start, start + timedelta(days=1)
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    moment = moment.astimezone(UTC).replace(microsecond=0)
    return moment, moment + timedelta(seconds=1)


class SmsSandbox:
    """A local stand-in for Twilio's Messages API, with a "phone" web page. See the package docstring."""

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        webhook_url: str | None = None,
        *,
        numbers: Iterable[str] = (),
        messaging_service_sid: str | None = None,
        status_delay: float = 0.05,
        slow_delay: float = 20.0,
        webhook_attempts: int = 3,
        retry_delay: float = 0.5,
        webhook_timeout: float = 10.0,
    ) -> None:
        if not _ACCOUNT_SID.match(account_sid):
            raise ValueError(f"{account_sid!r} is no account SID (AC followed by 32 lower-case hex digits)")
        if not auth_token:
            raise ValueError("the auth token is empty")
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.webhook_url = webhook_url
        self.numbers = tuple(numbers)  # the gateway's numbers; when given, other From numbers get 21606
        self.messaging_service_sid = messaging_service_sid
        self.status_delay = status_delay
        self.slow_delay = slow_delay
        self.webhook_attempts = max(webhook_attempts, 1)
        self.retry_delay = retry_delay
        self.webhook_timeout = webhook_timeout
        self.webhook_log: list[WebhookAttempt] = []
        self.version = 0  # bumped on every change; the page polls it to refresh
        self._messages: dict[str, SandboxMessage] = {}
        self._injected: list[_Injected] = []
        self._validator = RequestValidator(auth_token)
        self._tasks = TaskSet(log)  # messages' status life cycles and webhook posts
        self._stopping = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._session: ClientSession | None = None
        self._url: str | None = None

    # -- life cycle -------------------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        if self._url is None:
            raise RuntimeError("the sandbox is not running")
        return self._url

    def make_app(self) -> web.Application:
        app = web.Application()
        messages = _MESSAGES
        app.add_routes(
            [
                web.post(f"{messages}.json", self._api(self._create)),
                web.get(f"{messages}.json", self._api(self._list)),
                web.get(f"{messages}/{{sid}}.json", self._api(self._fetch)),
                web.get("/", self._page),
                web.post("/phone/reply", self._phone_reply),
                web.get("/sandbox/version", self._version),
                web.get("/sandbox/messages", self._all_messages),
                web.post("/sandbox/inbound", self._inbound_endpoint),
                web.post("/sandbox/fail-next", self._fail_next_endpoint),
            ]
        )
        return app

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._stopping.clear()
        self._session = ClientSession()
        self._runner = web.AppRunner(self.make_app(), shutdown_timeout=1.0, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        bound_host, bound_port = self._runner.addresses[0][:2]
        self._url = f"http://{bound_host}:{bound_port}"
        log.info("SMS sandbox listening on %s", self._url)

    async def stop(self) -> None:
        self._stopping.set()
        await self._tasks.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._session is not None:
            await self._session.close()
            self._session = None
        self._url = None

    async def __aenter__(self) -> SmsSandbox:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def idle(self) -> None:
        """Wait until every message has reached its final status and every callback was posted."""
        await self._tasks.wait()

    # -- accessors for tests and the page ---------------------------------------------------------------------
    @property
    def messages(self) -> list[SandboxMessage]:
        """Every message, oldest first."""
        return list(self._messages.values())

    def get(self, sid: str) -> SandboxMessage | None:
        return self._messages.get(sid)

    def sent_to(self, number: str) -> list[SandboxMessage]:
        """The messages created through the API to `number`, oldest first."""
        return [m for m in self._messages.values() if m.direction == "outbound-api" and m.to == number]

    def sent(self) -> list[SandboxMessage]:
        return [m for m in self._messages.values() if m.direction == "outbound-api"]

    def received(self) -> list[SandboxMessage]:
        """The texts sent from the phone to the gateway's numbers, oldest first."""
        return [m for m in self._messages.values() if m.direction == "inbound"]

    def gateway_numbers(self) -> list[str]:
        """The configured numbers, then every other number the gateway sent from, in order of first use."""
        seen = dict.fromkeys(self.numbers)
        for message in self._messages.values():
            if message.direction == "outbound-api":
                seen.setdefault(message.from_)
        return list(seen)

    def fail_next(
        self, status: int = 500, code: int = 20500, *, count: int = 1, on: Endpoint = "create", message: str = ""
    ) -> None:
        """Answer the next `count` API calls of kind `on` with this error, whatever they ask."""
        text = message or f"Injected failure (HTTP {status})"
        self._injected.append(_Injected(status, code, text, count, on))

    # -- inbound ----------------------------------------------------------------------------------------------
    async def send_inbound(self, from_: str, to: str, body: str, media: Iterable[str] = ()) -> InboundResult:
        """A text from any number `from_` to `to` (a gateway number): recorded, then POSTed to the webhook."""
        for name, number in (("From", from_), ("To", to)):
            if not _E164.match(number):
                raise ValueError(f"{name} {number!r} is no E.164 number (+ and 7 to 15 digits)")
        message = SandboxMessage(
            new_sid(), self.account_sid, "inbound", to, from_, body, tuple(media), status="received",
            messaging_service_sid=self.messaging_service_sid,
        )
        self._messages[message.sid] = message
        self._changed()
        if not self.webhook_url:
            log.warning("no webhook URL configured: the inbound text %s is only kept here", message.sid)
            return InboundResult(message.sid, False, 0, None)
        attempts = await self._deliver("inbound", self.webhook_url, self._inbound_params(message))
        last = attempts[-1]
        return InboundResult(message.sid, last.ok, len(attempts), last.status)

    def _inbound_params(self, message: SandboxMessage) -> dict[str, str]:
        params = {
            "AccountSid": message.account_sid,
            "ApiVersion": API_VERSION,
            "Body": message.body,
            "From": message.from_,
            "MessageSid": message.sid,
            "NumMedia": str(len(message.media)),
            "NumSegments": str(message.num_segments),
            "SmsMessageSid": message.sid,
            "SmsSid": message.sid,
            "SmsStatus": "received",
            "To": message.to,
        }
        if message.messaging_service_sid:
            params["MessagingServiceSid"] = message.messaging_service_sid
        for index, url in enumerate(message.media):
            params[f"MediaUrl{index}"] = url
            params[f"MediaContentType{index}"] = mimetypes.guess_type(url)[0] or "application/octet-stream"
        return params

    # -- webhooks ---------------------------------------------------------------------------------------------
    def sign(self, url: str, params: Mapping[str, str]) -> str:
        """X-Twilio-Signature for a POST of `params` to `url`, made with twilio's own RequestValidator."""
        return str(self._validator.compute_signature(url, dict(params)))

    async def _deliver(
        self, kind: Literal["status", "inbound"], url: str, params: dict[str, str]
    ) -> list[WebhookAttempt]:
        """POST form-encoded and signed; on a non-2xx answer or no answer, try again with growing pauses."""
        if self._session is None:
            raise RuntimeError("the sandbox is not running")
        signature = self.sign(url, params)
        headers = {
            "X-Twilio-Signature": signature,
            "I-Twilio-Idempotency-Token": str(uuid.uuid4()),  # the same on every retry of this webhook
            "User-Agent": "TwilioProxy/1.1",
        }
        attempts: list[WebhookAttempt] = []
        for number in range(1, self.webhook_attempts + 1):
            status: int | None = None
            error: str | None = None
            try:
                async with self._session.post(
                    url, data=params, headers=headers, timeout=ClientTimeout(total=self.webhook_timeout)
                ) as response:
                    await response.read()
                    status = response.status
            except (ClientError, TimeoutError) as exc:
                error = f"{type(exc).__name__}: {exc}"
            attempt = WebhookAttempt(kind, url, dict(params), signature, status, error)
            attempts.append(attempt)
            self.webhook_log.append(attempt)
            if attempt.ok:
                break
            log.warning("%s webhook to %s: attempt %d failed (%s)", kind, url, number, error or status)
            if number < self.webhook_attempts:
                await asyncio.sleep(self.retry_delay * 2 ** (number - 1))
        return attempts

    # -- status life cycle ------------------------------------------------------------------------------------
    def _start_lifecycle(self, message: SandboxMessage) -> None:
        self._tasks.spawn(self._lifecycle(message), name=f"sandbox-{message.sid}")

    async def _lifecycle(self, message: SandboxMessage) -> None:
        steps: list[tuple[str, magic.DeliveryFailure | None]] = []
        if message.status == "accepted":
            steps.append(("queued", None))
        failure = magic.DELIVERY_FAILURES.get(message.to)
        if failure is not None and failure.status == "failed":
            steps.append(("failed", failure))
        elif failure is not None:
            steps += [("sent", None), ("undelivered", failure)]
        elif message.to == magic.NEVER_DELIVERED:
            steps.append(("sent", None))
        else:
            steps += [("sent", None), ("delivered", None)]
        for status, error in steps:
            await asyncio.sleep(self.status_delay)
            message.status = status
            message.date_updated = _now()
            if status == "sent":
                message.date_sent = message.date_updated
            if error is not None:
                message.error_code, message.error_message = error.code, error.message
            self._changed()
            if message.status_callback:
                await self._deliver("status", message.status_callback, self._status_params(message))

    async def report_status(self, sid: str, status: str, error_code: int | None = None, error_message: str = ""
                            ) -> list[WebhookAttempt]:
        """Move message `sid` to `status` now and post its status callback, as Twilio would: for callbacks in an
        order of the caller's choosing (send to NEVER_DELIVERED, whose life cycle stops at 'sent')."""
        message = self._messages[sid]
        message.status, message.date_updated = status, _now()
        if error_code is not None:
            message.error_code, message.error_message = error_code, error_message
        self._changed()
        if not message.status_callback:
            return []
        return await self._deliver("status", message.status_callback, self._status_params(message))

    def _status_params(self, message: SandboxMessage) -> dict[str, str]:
        params = {
            "AccountSid": message.account_sid,
            "ApiVersion": API_VERSION,
            "From": message.from_,
            "MessageSid": message.sid,
            "MessageStatus": message.status,
            "SmsSid": message.sid,
            "SmsStatus": message.status,
            "To": message.to,
        }
        if message.messaging_service_sid:
            params["MessagingServiceSid"] = message.messaging_service_sid
        if message.error_code is not None:
            params["ErrorCode"] = str(message.error_code)
            params["ErrorMessage"] = message.error_message or ""
        return params

    def _changed(self) -> None:
        self.version += 1

    # -- the Messages API -------------------------------------------------------------------------------------
    def _api(
        self, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        """Wrap an API handler with Twilio's HTTP basic authentication (20003) and on-demand failures."""

        async def wrapped(request: web.Request) -> web.StreamResponse:
            if not self._authorized(request):
                return _error(401, 20003, "Authenticate")
            endpoint: Endpoint = "list"
            if request.method == "POST":
                endpoint = "create"
            elif "sid" in request.match_info:
                endpoint = "fetch"
            for injected in self._injected:
                if injected.on == endpoint and injected.count > 0:
                    injected.count -= 1
                    self._injected = [i for i in self._injected if i.count > 0]
                    return _error(injected.status, injected.code, injected.message)
            return await handler(request)

        return wrapped

    def _authorized(self, request: web.Request) -> bool:
        header = request.headers.get("Authorization", "")
        try:
            credentials = BasicAuth.decode(header)
        except ValueError:
            return False
        return (
            credentials.login == self.account_sid
            and credentials.password == self.auth_token
            and request.match_info.get("account") == self.account_sid
        )

    async def _create(self, request: web.Request) -> web.StreamResponse:
        form = await request.post()
        to = str(form.get("To", "")).strip()
        from_ = str(form.get("From", "")).strip()
        service = str(form.get("MessagingServiceSid", "")).strip() or None
        body = str(form.get("Body", ""))
        media = tuple(str(url) for url in form.getall("MediaUrl", []))
        callback = str(form.get("StatusCallback", "")).strip() or None
        if not to:
            return _error(400, 21604, "A 'To' phone number is required")
        if not _E164.match(to):
            return _error(400, 21211, f"The 'To' number {to} is not a valid phone number")
        if not from_ and not service:
            return _error(400, 21603, "A 'From' phone number or a 'MessagingServiceSid' is required")
        if from_ and not _E164.match(from_):
            return _error(400, 21212, f"The 'From' number {from_} is not a valid phone number")
        if from_ and self.numbers and from_ not in self.numbers:
            return _error(400, 21606, f"The 'From' number {from_} is not one of this account's numbers")
        if not body and not media:
            return _error(400, 21602, "A message needs a Body or a MediaUrl")
        if utf16_length(body) > MAX_BODY:
            return _error(400, 21617, "The Body is longer than 1600 characters")
        if len(media) > MAX_MEDIA:
            return _error(400, 21623, "At most 10 MediaUrl values are allowed")
        failure = magic.API_FAILURES.get(to)
        if failure is not None:
            return _error(failure.status, failure.code, failure.message)
        slow = magic.SLOW.get(to)
        if slow is not None and not slow.created:
            await self._pause(self.slow_delay)
            return _error(503, 20503, "The sandbox gave up on this message (slow magic number, nothing created)")
        message = SandboxMessage(
            new_sid(), self.account_sid, "outbound-api", to,
            from_ or (self.numbers[0] if self.numbers else DEFAULT_SERVICE_FROM), body, media,
            status="accepted" if service else "queued", messaging_service_sid=service, status_callback=callback,
        )
        self._messages[message.sid] = message
        self._changed()
        self._start_lifecycle(message)
        if slow is not None:
            await self._pause(self.slow_delay)
        return web.json_response(message.resource(), status=201)

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):  # stop() ends the pause early
            await asyncio.wait_for(self._stopping.wait(), seconds)

    async def _fetch(self, request: web.Request) -> web.StreamResponse:
        message = self._messages.get(request.match_info["sid"])
        if message is None:
            return _error(404, 20404, f"The requested resource {request.path} was not found")
        return web.json_response(message.resource())

    async def _list(self, request: web.Request) -> web.StreamResponse:
        query = request.query
        try:
            page_size = min(max(int(query.get("PageSize", "50")), 1), 1000)
            page = max(int(query.get("Page", "0")), 0)
            windows = {key: _parse_when(query[key]) for key in ("DateSent", "DateSent>", "DateSent<") if key in query}
        except ValueError as exc:
            return _error(400, 20001, f"Invalid parameter: {exc}")
        matches = [
            message for message in reversed(self._messages.values())  # newest first, as Twilio lists
            if ("To" not in query or message.to == query["To"])
            and ("From" not in query or message.from_ == query["From"])
            and self._in_windows(message, windows)
        ]
        chunk = matches[page * page_size : (page + 1) * page_size]
        filters = [(key, query[key]) for key in ("To", "From", "DateSent", "DateSent>", "DateSent<") if key in query]

        def page_uri(number: int) -> str:
            params = [*filters, ("PageSize", str(page_size)), ("Page", str(number))]
            return f"{request.path}?{urlencode(params)}"

        has_next = (page + 1) * page_size < len(matches)
        return web.json_response(
            {
                "end": page * page_size + max(len(chunk) - 1, 0),
                "first_page_uri": page_uri(0),
                "messages": [message.resource() for message in chunk],
                "next_page_uri": page_uri(page + 1) + "&PageToken=PA" + uuid.uuid4().hex if has_next else None,
                "page": page,
                "page_size": page_size,
                "previous_page_uri": page_uri(page - 1) if page > 0 else None,
                "start": page * page_size,
                "uri": page_uri(page),
            }
        )

    @staticmethod
    def _in_windows(message: SandboxMessage, windows: Mapping[str, tuple[datetime, datetime]]) -> bool:
        """DateSent (that day or second), DateSent> (on or after), DateSent< (on or before); an unsent message
        counts with its creation time."""
        moment = message.date_sent or message.date_created
        for key, (start, end) in windows.items():
            if key == "DateSent" and not start <= moment < end:
                return False
            if key == "DateSent>" and moment < start:
                return False
            if key == "DateSent<" and moment >= end:
                return False
        return True

    # -- the phone page and sandbox controls ------------------------------------------------------------------
    async def _page(self, request: web.Request) -> web.StreamResponse:
        html = render_page(self, result=request.query.get("result"), detail=request.query.get("detail", ""))
        return web.Response(text=html, content_type="text/html")

    async def _version(self, request: web.Request) -> web.StreamResponse:
        return web.json_response({"version": self.version})

    async def _all_messages(self, request: web.Request) -> web.StreamResponse:
        return web.json_response({"messages": [message.resource() for message in self._messages.values()]})

    async def _inbound_from_form(self, request: web.Request) -> InboundResult:
        form: Mapping[str, Any]
        if request.content_type == "application/json":
            form = await request.json()
            media = form.get("MediaUrl", [])
            media = [media] if isinstance(media, str) else list(media)
        else:
            posted = await request.post()
            form, media = posted, [str(url) for url in posted.getall("MediaUrl", []) if str(url).strip()]
        return await self.send_inbound(
            str(form.get("From", "")).strip(), str(form.get("To", "")).strip(), str(form.get("Body", "")), media
        )

    async def _inbound_endpoint(self, request: web.Request) -> web.StreamResponse:
        try:
            result = await self._inbound_from_form(request)
        except ValueError as exc:
            return web.json_response({"error": str(exc)}, status=400)
        return web.json_response(
            {"sid": result.sid, "delivered": result.delivered, "attempts": result.attempts, "status": result.status}
        )

    async def _phone_reply(self, request: web.Request) -> web.StreamResponse:
        try:
            result = await self._inbound_from_form(request)
        except ValueError as exc:
            params = {"result": "invalid", "detail": str(exc)}
        else:
            outcome = "delivered" if result.delivered else "not-delivered"
            params = {"result": outcome, "detail": f"{result.sid} (webhook answered {result.status})"}
        raise web.HTTPSeeOther(f"/?{urlencode(params)}")

    async def _fail_next_endpoint(self, request: web.Request) -> web.StreamResponse:
        form: Mapping[str, Any]
        form = await request.json() if request.content_type == "application/json" else await request.post()
        on = _ENDPOINTS.get(str(form.get("on", "create")))
        if on is None:
            return web.json_response({"error": "on must be create, fetch or list"}, status=400)
        try:
            self.fail_next(
                int(str(form.get("status", 500))), int(str(form.get("code", 20500))),
                count=int(str(form.get("count", 1))),
                on=on, message=str(form.get("message", "")),
            )
        except ValueError as exc:
            return web.json_response({"error": str(exc)}, status=400)
        return web.json_response({"queued": True})


async def run_sandbox(
    host: str,
    port: int,
    account_sid: str,
    auth_token: str,
    webhook_url: str | None,
    *,
    numbers: Iterable[str] = (),
    on_ready: Callable[[SmsSandbox], None] | None = None,
) -> None:
    """Run a sandbox until cancelled (the `xmpp-gateway sms-sandbox` command); `on_ready` is told its URL."""
    sandbox = SmsSandbox(account_sid, auth_token, webhook_url, numbers=numbers)
    await sandbox.start(host, port)
    try:
        if on_ready is not None:
            on_ready(sandbox)
        await asyncio.Event().wait()
    finally:
        await sandbox.stop()
