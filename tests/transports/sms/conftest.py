"""A running sandbox, a twilio client pointed at it, and a small webhook receiver that checks signatures."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp import web
from twilio.request_validator import RequestValidator

from gateway.transports.sms.sandbox import SmsSandbox
from gateway.transports.sms.settings import SmsSettings
from gateway.transports.sms.twilio_client import close_client, make_client

ACCOUNT_SID = "AC" + "5a" * 16
AUTH_TOKEN = "sandbox-auth-token"
GATEWAY_NUMBER = "+12025550100"
PHONE = "+12025550123"


@dataclass(frozen=True)
class Received:
    path: str
    url: str  # the public URL the receiver knows itself by
    params: dict[str, str]
    signature: str | None
    idempotency_token: str | None

    @property
    def valid(self) -> bool:
        return bool(RequestValidator(AUTH_TOKEN).validate(self.url, self.params, self.signature or ""))


class WebhookReceiver:
    """Records every POST; answers with the queued statuses first, then 200."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.answers: list[int] = []
        self._runner: web.AppRunner | None = None
        self.base_url = ""
        self._arrived = asyncio.Event()

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/sms/{kind}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.base_url = f"http://{host}:{port}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def url(self, kind: str) -> str:
        return f"{self.base_url}/sms/{kind}"

    async def _handle(self, request: web.Request) -> web.Response:
        form = await request.post()
        self.received.append(
            Received(
                request.path,
                self.base_url + request.path_qs,
                {key: str(value) for key, value in form.items()},
                request.headers.get("X-Twilio-Signature"),
                request.headers.get("I-Twilio-Idempotency-Token"),
            )
        )
        self._arrived.set()
        status = self.answers.pop(0) if self.answers else 200
        return web.Response(status=status, text="<Response/>", content_type="text/xml")

    def of(self, kind: str) -> list[Received]:
        return [r for r in self.received if r.path == f"/sms/{kind}"]

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:
        async with asyncio.timeout(timeout):
            while not predicate():
                self._arrived.clear()
                await self._arrived.wait()


@pytest.fixture
async def receiver() -> AsyncIterator[WebhookReceiver]:
    server = WebhookReceiver()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def sandbox(receiver: WebhookReceiver) -> AsyncIterator[SmsSandbox]:
    box = SmsSandbox(
        ACCOUNT_SID, AUTH_TOKEN, receiver.url("inbound"), status_delay=0.01, slow_delay=2.0, retry_delay=0.01
    )
    await box.start()
    yield box
    await box.stop()


def sms_settings(base_url: str, **overrides: Any) -> SmsSettings:
    values: dict[str, Any] = {
        "jid": "sms.localhost", "secret": "s", "account_sid": ACCOUNT_SID, "auth_token": AUTH_TOKEN,
        "api_base_url": base_url,
    }
    return SmsSettings(**(values | overrides))


@pytest.fixture
async def client(sandbox: SmsSandbox) -> AsyncIterator[Any]:
    twilio = make_client(sms_settings(sandbox.url, request_timeout=5))
    yield twilio
    await close_client(twilio)
