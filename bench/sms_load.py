"""The SMS paths: XMPP -> the Messages API of the sandbox, signed webhooks -> XMPP delivery, and status callbacks.

Each path is spread over SENDERS users, each with a number of their own (a number sends its texts one at a time
and in order; a user's texts come from their number). XMPP -> SMS counts a message when the sandbox has created
it (the API call Twilio would have answered); the sandbox holds back the status callbacks of those messages, and
the status path then posts them, "sent" and then "delivered" for each, counting a callback when it is answered
200 (the gateway answers once it has stored it). Webhooks are signed with twilio's RequestValidator (through the
sandbox) and posted straight to the gateway's /sms/inbound; a message counts when the XMPP user has it.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable

import aiohttp

from bench.measure import Tracker
from bench.paths import CpuProbe, PathResult, Route, Timing, measure
from bench.xmpp_load import RawXmppClient, message_xml
from gateway.transports.sms.sandbox import SmsSandbox
from gateway.transports.sms.sandbox.server import API_VERSION, SandboxMessage

SENDERS = 50  # users the SMS paths spread over, each with a number of their own


class BenchSandbox(SmsSandbox):
    """The sandbox, telling the benchmark about every message created through its API; while `held` is a list,
    the messages created go there instead of through their status life cycle."""

    on_created: Callable[[str], None] | None = None
    held: list[SandboxMessage] | None = None
    last_held = 0  # how many the last SMS paths held: twice as many distinct status callbacks

    def _start_lifecycle(self, message: SandboxMessage) -> None:
        if self.on_created is not None:
            self.on_created(message.body)
        if self.held is not None:
            self.held.append(message)
        else:
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

    def post_signed(self, url: str, params: dict[str, str], answered: Callable[[], None]) -> None:
        """POST `params` signed for `url`; `answered()` once it is answered 200."""
        task = asyncio.create_task(self._post_to(url, params, answered))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _post_to(self, url: str, params: dict[str, str], answered: Callable[[], None]) -> None:
        headers = {"X-Twilio-Signature": self.sandbox.sign(url, params)}
        try:
            async with self.session.post(url, data=params, headers=headers) as response:
                await response.read()
                if response.status == 200:
                    answered()
                else:
                    self.failures += 1
        except aiohttp.ClientError:
            self.failures += 1

    async def close(self) -> None:
        await asyncio.gather(*self.tasks, return_exceptions=True)
        await self.session.close()


def status_params(message: SandboxMessage, status: str) -> dict[str, str]:
    """The callback Twilio posts when `message` reaches `status` (what the sandbox's life cycle would post)."""
    return {"AccountSid": message.account_sid, "ApiVersion": API_VERSION, "From": message.from_,
            "MessageSid": message.sid, "MessageStatus": status, "SmsSid": message.sid, "SmsStatus": status,
            "To": message.to}


async def sms_paths(clients: list[RawXmppClient], sandbox: BenchSandbox, poster: WebhookPoster, sms_domain: str,
                    user_numbers: list[str], contacts: list[str], timing: Timing,
                    probe: CpuProbe | None = None) -> dict[str, PathResult]:
    """`clients[i]` has `user_numbers[i]` and texts `contacts[i]`; message `seq` goes through pair seq % len. The
    load generator's share of the CPU includes the sandbox's (it runs in its process)."""
    route = Route()
    results: dict[str, PathResult] = {}
    pairs = len(clients)

    def created(body: str) -> None:
        if route.tracker is not None:
            route.tracker.got_text(body)

    sandbox.on_created = created
    held: list[SandboxMessage] = []
    sandbox.held = held

    def to_sms(tracker: Tracker, seq: int) -> None:
        clients[seq % pairs].send(message_xml(f"{contacts[seq % pairs]}@{sms_domain}", tracker.body(seq)))

    async def drain_all() -> None:
        await asyncio.gather(*(client.drain() for client in clients))

    try:
        results["xmpp_sms"] = await measure(route, 1, to_sms, drain_all, timing, probe)
    finally:
        sandbox.on_created = None
        sandbox.held = None

    def statuses(tracker: Tracker, seq: int) -> None:
        # "sent" for every held message, then "delivered" for each; past that, the same again (settled already).
        message = held[seq % len(held)]
        status = "sent" if (seq // len(held)) % 2 == 0 else "delivered"
        assert message.status_callback is not None
        poster.post_signed(message.status_callback, status_params(message, status),
                           lambda: tracker.got_text(tracker.body(seq)))

    if held:
        results["sms_status"] = await measure(route, 1, statuses, lambda: None, timing, probe)
        sandbox.last_held = len(held)

    for client in clients:
        client.on_stanza = route.xmpp

    def from_sms(tracker: Tracker, seq: int) -> None:
        poster.post(contacts[seq % pairs], user_numbers[seq % pairs], tracker.body(seq))

    results["sms_xmpp"] = await measure(route, 1, from_sms, lambda: None, timing, probe)
    for client in clients:
        client.on_stanza = None
    return results
