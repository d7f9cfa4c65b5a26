"""The SMS paths: XMPP -> the Messages API of the sandbox, and signed webhooks -> XMPP delivery.

XMPP -> SMS counts a message when the sandbox has created it (the API call Twilio would have answered); the
sandbox then posts the "sent" and "delivered" status callbacks to the gateway as Twilio does, which is part of
the load. Webhooks are signed with twilio's RequestValidator (through the sandbox) and posted straight to the
gateway's /sms/inbound; a message counts when the XMPP user has it.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable

import aiohttp

from bench.measure import Tracker
from bench.paths import PathResult, Route, Timing, measure
from bench.xmpp_load import RawXmppClient, message_xml
from gateway.transports.sms.sandbox import SmsSandbox
from gateway.transports.sms.sandbox.server import API_VERSION, SandboxMessage


class BenchSandbox(SmsSandbox):
    """The sandbox, telling the benchmark about every message created through its API."""

    on_created: Callable[[str], None] | None = None

    def _start_lifecycle(self, message: SandboxMessage) -> None:
        if self.on_created is not None:
            self.on_created(message.body)
        super()._start_lifecycle(message)


def inbound_params(account_sid: str, from_: str, to: str, body: str) -> dict[str, str]:
    sid = "SM" + uuid.uuid4().hex
    return {"AccountSid": account_sid, "ApiVersion": API_VERSION, "Body": body, "From": from_, "MessageSid": sid,
            "NumMedia": "0", "NumSegments": "1", "SmsMessageSid": sid, "SmsSid": sid, "SmsStatus": "received",
            "To": to}


class WebhookPoster:
    """Signed inbound webhooks, many in flight over a pooled HTTP client."""

    def __init__(self, sandbox: SmsSandbox, url: str) -> None:
        self.sandbox, self.url = sandbox, url
        self.session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=64))
        self.tasks: set[asyncio.Task[None]] = set()
        self.failures = 0

    def post(self, from_: str, to: str, body: str) -> None:
        task = asyncio.create_task(self._post(inbound_params(self.sandbox.account_sid, from_, to, body)))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _post(self, params: dict[str, str]) -> None:
        headers = {"X-Twilio-Signature": self.sandbox.sign(self.url, params)}
        try:
            async with self.session.post(self.url, data=params, headers=headers) as response:
                await response.read()
                if response.status != 200:
                    self.failures += 1
        except aiohttp.ClientError:
            self.failures += 1

    async def close(self) -> None:
        await asyncio.gather(*self.tasks, return_exceptions=True)
        await self.session.close()


async def sms_paths(client: RawXmppClient, sandbox: BenchSandbox, poster: WebhookPoster, sms_domain: str,
                    user_number: str, contact: str, timing: Timing) -> dict[str, PathResult]:
    route = Route()
    results: dict[str, PathResult] = {}

    def created(body: str) -> None:
        if route.tracker is not None:
            route.tracker.got_text(body)

    sandbox.on_created = created

    def to_sms(tracker: Tracker, seq: int) -> None:
        client.send(message_xml(f"{contact}@{sms_domain}", tracker.body(seq)))

    results["xmpp_sms"] = await measure(route, 1, to_sms, client.drain, timing)
    sandbox.on_created = None

    client.on_stanza = route.xmpp

    def from_sms(tracker: Tracker, seq: int) -> None:
        poster.post(contact, user_number, tracker.body(seq))

    results["sms_xmpp"] = await measure(route, 1, from_sms, lambda: None, timing)
    client.on_stanza = None
    return results
