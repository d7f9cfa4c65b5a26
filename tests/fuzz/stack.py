"""The real parts every fuzz boundary runs against, and the checks that follow each batch.

Prosody (one Component per transport domain), the gateway in-process (started on a raw config, as the e2e
tests do), the SMS sandbox (the real twilio SDK talks to it; its webhooks come back signed) and HostileIrcServer in
place of an IRC network. Two accounts: alice, who is bound to an SMS number, sits in the group chat #check and has
a private conversation with bob on IRC, and whose messages are the liveness probes; and mallory, who sends the
hostile stanzas. Whatever mallory sends, alice's next message on every transport must still arrive within 2 s.

Cut streams are read from what the gateway exposes: GET /metrics (xmpp_gateway_component_connected and
xmpp_gateway_component_reconnects_total per component); a stream counts as cut when a component is not connected
or has reconnected since the last check.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import itertools
import linecache
import time
import xml.etree.ElementTree as ET
from collections.abc import Coroutine, Sequence
from pathlib import Path
from typing import Any

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from gateway.app import Gateway
from gateway.config import parse_config
from gateway.devstack.ports import free_port
from gateway.devstack.prosody import ComponentSpec, ProsodyServer
from gateway.transports.sms.sandbox import SmsSandbox
from tests.fuzz.harness import Case, Failure, LoggedError, LogWatch
from tests.fuzz.raw_xmpp import CLIENT, RawXmppClient, body_of
from tests.support.hostile_irc import HostileClient, HostileIrcServer
from tests.support.stack import raw_config

DOMAIN = "localhost"
LOOPBACK, SMS, IRC = "loopback.localhost", "sms.localhost", "irc.localhost"
SECRETS = {LOOPBACK: "loopback-secret", SMS: "sms-secret", IRC: "irc-secret"}
DOMAINS = {"loopback": LOOPBACK, "sms": SMS, "irc": IRC}
ACCOUNT_SID = "AC" + "5a" * 16
AUTH_TOKEN = "sandbox-auth-token"
ALICE_NUMBER = "+12025550100"
MALLORY_NUMBER = "+12025550111"
PEER = "+12025550123"  # a phone that texts alice
NETWORK = "test"
CHECK_CHANNEL = "#check"
CHECK_ROOM = f"{CHECK_CHANNEL}%{NETWORK}@{IRC}"
BOB = f"bob%{NETWORK}@{IRC}"
LIVENESS_TIMEOUT = 2.0  # the promise: the next normal message arrives within 2 s
STOP_TIMEOUT = 10.0  # seconds for the gateway to drain and stop (its own waits add up to less)
_probes = itertools.count()


class FuzzStack:
    """Prosody, the sandbox, the hostile IRC server, the gateway and the two clients; see the module docstring."""

    def __init__(self, workdir: Path, transports: Sequence[str]) -> None:
        self.workdir = workdir
        self.transports = tuple(transports)
        self.domains = [DOMAINS[name] for name in self.transports]
        self.prosody = ProsodyServer(workdir / "prosody",
                                     components=[ComponentSpec(d, SECRETS[d]) for d in self.domains])
        self.sandbox: SmsSandbox | None = None
        self.irc: HostileIrcServer | None = None
        self.http_port = free_port()
        self.gateway: Gateway | None = None
        self.generation = 0
        self.database_url = ""
        self.alice = RawXmppClient("alice", DOMAIN, "alice-password", "phone")
        self.mallory = RawXmppClient("mallory", DOMAIN, "mallory-password", "fuzz")
        self.logs = LogWatch()
        self.reconnects: dict[str, float] = {}
        self.sender_reconnects = 0  # times Prosody closed mallory's own stream (her fault, not the gateway's)
        self.stop_failures: list[Failure] = []
        self._http: aiohttp.ClientSession | None = None

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    # -- life cycle -------------------------------------------------------------------------------------------

    async def start(self) -> None:
        self.logs.install()
        self.prosody.start()
        self.prosody.register("alice", "alice-password")
        self.prosody.register("mallory", "mallory-password")
        self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        if "sms" in self.transports:
            self.sandbox = SmsSandbox(ACCOUNT_SID, AUTH_TOKEN, numbers=[ALICE_NUMBER, MALLORY_NUMBER],
                                      status_delay=0.01, retry_delay=0.05, webhook_attempts=1,
                                      webhook_timeout=5.0)
            self.sandbox.webhook_url = f"{self.http_url}/sms/inbound"
            await self.sandbox.start()
        if "irc" in self.transports:
            self.irc = HostileIrcServer()
            await self.irc.start()
        await self.alice.login(self.prosody.c2s_port)
        await self.mallory.login(self.prosody.c2s_port)
        await self.start_gateway(fresh=True)

    async def stop(self) -> None:
        await self.stop_gateway()
        for client in (self.alice, self.mallory):
            await client.close()
        if self.irc is not None:
            await self.irc.stop()
        if self.sandbox is not None:
            await self.sandbox.stop()
        if self._http is not None:
            await self._http.close()
        self.prosody.stop()
        self.logs.remove()

    def config(self) -> dict[str, Any]:
        transports: dict[str, dict[str, Any]] = {}
        if "loopback" in self.transports:
            transports["loopback"] = {"jid": LOOPBACK, "secret": SECRETS[LOOPBACK], "access": "open"}
        if "sms" in self.transports:
            assert self.sandbox is not None
            transports["sms"] = {"jid": SMS, "secret": SECRETS[SMS], "account_sid": ACCOUNT_SID,
                                 "auth_token": AUTH_TOKEN, "api_base_url": self.sandbox.url, "rate": 1000.0,
                                 "burst": 1000, "access": "open", "request_timeout": 5.0}
        if "irc" in self.transports:
            assert self.irc is not None
            transports["irc"] = {"jid": IRC, "secret": SECRETS[IRC], "access": "open",
                                 "networks": [{"name": NETWORK, "host": "127.0.0.1", "port": self.irc.port,
                                               "tls": False}],
                                 "flood_burst": 1000, "flood_rate": 1000.0, "quit_grace_period": 0.2}
        return raw_config(component_port=self.prosody.component_port, http_port=self.http_port,
                          database_url=self.database_url, transports=transports)

    async def start_gateway(self, fresh: bool, watch_logs: bool = False) -> None:
        """Start the gateway (on a new database if `fresh`), then put alice where the probes expect her. What the
        start logs is ignored unless `watch_logs` (a restart on the same database is itself under test)."""
        if fresh:
            self.generation += 1
            self.database_url = f"sqlite+aiosqlite:///{self.workdir / f'gateway-{self.generation}.db'}"
        self.logs.paused = not watch_logs
        try:
            self.gateway = await self._start_gateway()
            await self.prepare(first=fresh)
        finally:
            self.logs.paused = False
        self.reconnects = await self.reconnect_counts()

    async def _start_gateway(self, connect_timeout: float = 15.0) -> Gateway:
        """tests.support.stack.start_gateway, but a gateway that fails to start is stopped again, and a port that
        another process took meanwhile (other tests run on this machine) is replaced by a free one."""
        for attempt in range(3):
            gateway = Gateway(parse_config(self.config(), self.workdir / "config.toml", {}))
            try:
                await gateway.start()
                for component in gateway.components.values():
                    if not await component.wait_connected(connect_timeout):
                        raise TimeoutError(f"{component.domain} did not connect within {connect_timeout:g} s")
                return gateway
            except OSError as exc:
                await gateway.stop()
                if exc.errno != errno.EADDRINUSE or attempt == 2:
                    raise
                self.http_port = free_port()
                if self.sandbox is not None:
                    self.sandbox.webhook_url = f"{self.http_url}/sms/inbound"
            except BaseException:
                await gateway.stop()
                raise
        raise AssertionError("unreachable")

    async def stop_gateway(self) -> None:
        """Stop the gateway as SIGTERM would. One that does not stop within STOP_TIMEOUT is a failure (kept in
        `stop_failures` for the caller to report) and is then taken off Prosody by force, so that the next one can
        connect its components (Prosody refuses a second connection for a domain)."""
        gateway, self.gateway = self.gateway, None
        if gateway is None:
            return
        self.logs.paused = True
        stopping = asyncio.create_task(gateway.stop(), name="fuzz-gateway-stop")
        try:
            done, _ = await asyncio.wait({stopping}, timeout=STOP_TIMEOUT)
            if not done:
                where = _suspended_at(stopping)
                self.stop_failures.append(Failure(
                    "crash", f"the gateway did not stop within {STOP_TIMEOUT:g} s (it waits at {where})",
                    signature=f"the gateway does not stop: it waits at {where}"))
                stopping.cancel()
                await asyncio.wait({stopping}, timeout=5)
                await self._force_off(gateway)
            elif stopping.exception() is not None:
                error = stopping.exception()
                self.stop_failures.append(Failure("crash", f"the gateway's stop raised {type(error).__name__}: "
                                                  f"{error}", signature=f"stop raises {type(error).__name__}"))
        finally:
            self.logs.paused = False

    async def _force_off(self, gateway: Gateway) -> None:
        """What a killed process would leave: its component streams closed, and its IRC connections gone. The
        hostile IRC server is replaced by a new one on another port (the hung gateway's IRC sessions would
        reconnect to the old one and take alice's nick and channels)."""
        for component in gateway.components.values():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(component.stop(drain_timeout=0.5), 10)
            component.abort()
        if self.irc is not None:
            old, self.irc = self.irc, HostileIrcServer()
            await old.stop()
            await self.irc.start()
        if gateway.web is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(gateway.web.stop(), 5)

    def take_stop_failures(self) -> list[Failure]:
        failures, self.stop_failures = self.stop_failures, []
        return failures

    async def reset(self) -> None:
        """A fresh gateway on a new database (what the last one journaled cannot poison the next check)."""
        await self.stop_gateway()
        for client in (self.alice, self.mallory):
            await client.ensure_open()
        await self.start_gateway(fresh=True)

    async def prepare(self, first: bool) -> None:
        assert self.gateway is not None and self.gateway.store is not None
        if "sms" in self.transports and first:
            store = self.gateway.store
            for user, number in (("alice@localhost", ALICE_NUMBER), ("mallory@localhost", MALLORY_NUMBER)):
                await store.users.add(user)
                await store.bindings.bind(user, "sms", number)
        if "irc" in self.transports:
            await self.alice.join_room(CHECK_ROOM, "alice", timeout=10)
            if first:
                assert self.irc is not None
                client = await self.irc.wait_client("alice", timeout=10)
                since = len(client.lines)
                self.alice.message(BOB, "hello bob")
                await self.irc.wait_line(lambda line: line.command == "PRIVMSG" and line.params[:1] == ("bob",),
                                         10, client, since)

    def traffic(self) -> str:
        """What alice and mallory received, by stanza and type: evidence that the inputs reached the gateway."""
        return "; ".join(f"{client.user} received " + ", ".join(f"{kind} x{count}" for kind, count in
                                                             client.counts.most_common(8))
                         for client in (self.alice, self.mallory) if client.counts)

    def alice_irc(self) -> HostileClient | None:
        return self.irc.client_for("alice") if self.irc is not None else None

    # -- what the checks read ---------------------------------------------------------------------------------

    async def metrics(self) -> dict[tuple[str, str], float]:
        """(sample name, component) -> value, from GET /metrics."""
        assert self._http is not None
        async with self._http.get(f"{self.http_url}/metrics") as response:
            text = await response.text()
        values: dict[tuple[str, str], float] = {}
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if "component" in sample.labels:
                    values[(sample.name, sample.labels["component"])] = sample.value
        return values

    async def reconnect_counts(self) -> dict[str, float]:
        values = await self.metrics()
        return {d: values.get(("xmpp_gateway_component_reconnects_total", d), 0.0) for d in self.domains}

    async def wait_cut(self, domains: Sequence[str], timeout: float) -> None:
        """Until /metrics shows each of `domains` down or reconnected (or `timeout`): the gateway notices a lost
        stream a moment after the server does."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            values = await self.metrics()
            if all(values.get(("xmpp_gateway_component_connected", d), 0.0) != 1.0
                   or values.get(("xmpp_gateway_component_reconnects_total", d), 0.0) > self.reconnects.get(d, 0.0)
                   for d in domains):
                return
            await asyncio.sleep(0.05)

    async def cut_streams(self) -> list[str]:
        """Components whose stream is down or came back since the last call (then the baseline moves on)."""
        try:
            values = await self.metrics()
        except (aiohttp.ClientError, TimeoutError) as exc:
            return [f"GET /metrics failed: {type(exc).__name__}: {exc}"]
        problems = []
        for domain in self.domains:
            connected = values.get(("xmpp_gateway_component_connected", domain), 0.0)
            count = values.get(("xmpp_gateway_component_reconnects_total", domain), 0.0)
            before = self.reconnects.get(domain, 0.0)
            if connected != 1.0 or count > before:
                state = "down" if connected != 1.0 else "up again"
                problems.append(f"the {domain} stream was cut ({state}; reconnects {before:g} -> {count:g})")
            self.reconnects[domain] = count
        return problems

    # -- liveness ---------------------------------------------------------------------------------------------

    async def _await_message(self, future: asyncio.Future[ET.Element], timeout: float) -> bool:
        try:
            await asyncio.wait_for(asyncio.shield(future), timeout)
            return True
        except (TimeoutError, ConnectionError):
            return False
        finally:
            self.alice.forget(future)

    def _expect_body(self, sender: str, body: str) -> asyncio.Future[ET.Element]:
        def match(elem: ET.Element) -> bool:
            return (elem.tag == CLIENT + "message" and (elem.get("from") or "") == sender
                    and body_of(elem) == body)
        return self.alice.expect(match)

    async def probe_loopback(self, tag: str) -> str | None:
        body = f"probe {tag} loopback"
        arrived = self._expect_body(f"echo@{LOOPBACK}", body)
        self.alice.message(f"echo@{LOOPBACK}", body)
        if await self._await_message(arrived, LIVENESS_TIMEOUT):
            return None
        return f"the loopback echo of {body!r} did not arrive within {LIVENESS_TIMEOUT:g} s"

    async def probe_sms(self, tag: str) -> str | None:
        assert self.sandbox is not None
        body = f"probe {tag} sms"
        arrived = self._expect_body(f"{PEER}@{SMS}", body)
        started = time.monotonic()
        try:
            result = await asyncio.wait_for(self.sandbox.send_inbound(PEER, ALICE_NUMBER, body), LIVENESS_TIMEOUT)
        except TimeoutError:
            self.alice.forget(arrived)
            return f"the inbound SMS {body!r} got no webhook answer within {LIVENESS_TIMEOUT:g} s"
        if not result.delivered:
            self.alice.forget(arrived)
            return f"the inbound SMS {body!r} was refused by the webhook (HTTP {result.status})"
        left = max(LIVENESS_TIMEOUT - (time.monotonic() - started), 0.05)
        if await self._await_message(arrived, left):
            return None
        return f"the inbound SMS {body!r} did not reach alice within {LIVENESS_TIMEOUT:g} s"

    async def probe_irc_room(self, tag: str) -> str | None:
        assert self.irc is not None
        client = self.alice_irc()
        if client is None:
            return "alice has no IRC connection"
        body = f"probe {tag} room"
        arrived = self._expect_body(f"{CHECK_ROOM}/bob", body)
        await self.irc.send(f":bob!b@hostile.host PRIVMSG {CHECK_CHANNEL} :{body}", client)
        if await self._await_message(arrived, LIVENESS_TIMEOUT):
            return None
        return f"the room line {body!r} in {CHECK_CHANNEL} did not reach alice within {LIVENESS_TIMEOUT:g} s"

    async def probe_irc_private(self, tag: str) -> str | None:
        assert self.irc is not None
        client = self.alice_irc()
        if client is None:
            return "alice has no IRC connection"
        body = f"probe {tag} private"
        arrived = self._expect_body(BOB, body)
        await self.irc.send(f":bob!b@hostile.host PRIVMSG {client.nick} :{body}", client)
        if await self._await_message(arrived, LIVENESS_TIMEOUT):
            return None
        return f"the private line {body!r} from bob did not reach alice within {LIVENESS_TIMEOUT:g} s"

    async def liveness(self) -> list[tuple[str, str]]:
        """One normal message on every transport; (probe, problem) for each that was lost."""
        tag = str(next(_probes))
        if await self.alice.ensure_open():
            return [("alice's stream", "alice's own stream had been closed by the server (logged in again)")]
        probes: dict[str, Coroutine[Any, Any, str | None]] = {}
        if "loopback" in self.transports:
            probes["loopback"] = self.probe_loopback(tag)
        if "sms" in self.transports:
            probes["sms"] = self.probe_sms(tag)
        if "irc" in self.transports:
            probes["irc room"] = self.probe_irc_room(tag)
            probes["irc private"] = self.probe_irc_private(tag)
        results = await asyncio.gather(*probes.values())
        return [(name, problem) for name, problem in zip(probes, results, strict=True) if problem is not None]

    async def standard_checks(self, log_mark: int, liveness: bool = True) -> list[Failure]:
        """Lost messages (if `liveness`), cut streams and tracebacks logged since `log_mark` (the case is filled
        in by the caller)."""
        probed = await self.liveness() if liveness else []
        failures = [Failure("lost_message", problem, signature=f"{probe} probe lost") for probe, problem in probed]
        failures += [Failure("cut_stream", problem, signature=problem.split(" (")[0])
                     for problem in await self.cut_streams()]
        return failures + traceback_failures(self.logs.since(log_mark))


def traceback_failures(logged: Sequence[LoggedError], case: Case | None = None) -> list[Failure]:
    """Tracebacks in the gateway's log: a crash, except aiohttp's own tracebacks for a malformed request it
    answered with 400 (kind "log_traceback": a stranger can write them into the log at will)."""
    failures = []
    for kind, errors in (("crash", [e for e in logged if not e.from_http_parser]),
                         ("log_traceback", [e for e in logged if e.from_http_parser])):
        if errors:
            shown = "; ".join(error.line() for error in errors[:3])
            failures.append(Failure(kind, f"{len(errors)} traceback(s) in the gateway's log: {shown}", case,
                                    signature=errors[0].signature(), direct=case is not None))
    return failures


def _suspended_at(task: asyncio.Task[None]) -> str:
    """Where a task's coroutine waits: file:line and the line's code."""
    frames = task.get_stack()
    if not frames:
        return "?"
    frame = frames[-1]
    path = frame.f_code.co_filename
    short = path.split("/gateway/", 1)[-1] if "/gateway/" in path else path.rsplit("/", 1)[-1]
    code = linecache.getline(path, frame.f_lineno).strip()
    return f"{short}:{frame.f_lineno} ({code})"


@contextlib.asynccontextmanager
async def running_stack(workdir: Path, transports: Sequence[str]):  # type: ignore[no-untyped-def]
    stack = FuzzStack(workdir, transports)
    try:
        await stack.start()
        yield stack
    finally:
        await stack.stop()
