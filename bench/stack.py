"""The benchmark's servers on loopback: Prosody, ngircd and the SMS sandbox (the project's launchers), the
gateway and the echo component as processes of their own, users registered in bulk.

Everything started here is stopped by PID in `Stack.close()`, which `bench.run` calls on success, error and Ctrl-C.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from bench.sms_load import BenchSandbox
from gateway.devstack.ngircd import NgircdServer
from gateway.devstack.ports import LOOPBACK, free_port
from gateway.devstack.process import log_tail, spawn, stop_process
from gateway.devstack.prosody import ComponentSpec, ProsodyServer

DOMAIN = "localhost"
IRC_DOMAIN = "irc.localhost"
SMS_DOMAIN = "sms.localhost"
ECHO_DOMAIN = "echo.localhost"
BIBOUMI_DOMAIN = "biboumi.localhost"
NETWORK = "bench"
ACCOUNT_SID = "AC" + "be" * 16
PASSWORD = "bench-password"
ROOT = Path(__file__).resolve().parent.parent


def rss_kib(pid: int) -> int:
    """Resident set size of a process, KiB (VmRSS of /proc/PID/status)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


def http_json(url: str, timeout: float = 2) -> tuple[int, object]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return int(response.status), json.loads(response.read())
    except urllib.error.HTTPError as error:
        return int(error.code), json.loads(error.read() or b"null")


def histogram_buckets(url: str, name: str) -> dict[float, float]:
    """One histogram of a Prometheus /metrics page: each bucket's upper bound -> its cumulative count."""
    with urllib.request.urlopen(url, timeout=5) as response:
        text = response.read().decode()
    return {float(sample.labels["le"]): sample.value for family in text_string_to_metric_families(text)
            for sample in family.samples if sample.name == name + "_bucket"}


class Process:
    """A child process we started (its own session, output in a log), stopped by PID."""

    def __init__(self, name: str, argv: list[str], workdir: Path, cwd: Path = ROOT,
                 env: dict[str, str] | None = None) -> None:
        self.name, self.argv, self.workdir, self.cwd, self.env = name, argv, workdir, cwd, env
        self.log_path = workdir / f"{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.started_at = 0.0

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.started_at = time.perf_counter()
        self.proc = spawn(self.argv, self.log_path, self.cwd, self.env)

    async def wait_until(self, ready: Callable[[], bool], timeout: float) -> float:
        """Seconds from start until `ready()`; RuntimeError if the process exits or the timeout passes."""
        deadline = time.monotonic() + timeout
        while not await asyncio.to_thread(ready):
            if self.proc is None or self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited early; log:\n{log_tail(self.log_path)}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} not ready within {timeout} s; log:\n{log_tail(self.log_path)}")
            await asyncio.sleep(0.01)
        return time.perf_counter() - self.started_at

    def log_has(self, text: str) -> bool:
        try:
            return text in self.log_path.read_text(errors="replace")
        except OSError:
            return False

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc, 10)
            self.proc = None


@dataclass
class GatewaySettings:
    database_url: str
    sms: bool = True
    irc: bool = True
    # Another checkout of the gateway to run (`python -m gateway` imports it from its working directory): the
    # baseline a change is measured against in the same run.
    source: Path | None = None
    # Run it under bench.probe, which reports its memory to this file on SIGUSR1 (see bench/probe.py).
    probe_report: Path | None = None
    env: dict[str, str] = field(default_factory=dict)  # added to the environment


@dataclass
class Stack:
    workdir: Path
    secret: str = field(default_factory=lambda: secrets.token_urlsafe(12))
    prosody: ProsodyServer | None = None
    ngircd: NgircdServer | None = None
    sandbox: BenchSandbox | None = None
    processes: list[Process] = field(default_factory=list)
    http_port: int = field(default_factory=free_port)

    @property
    def sqlite_url(self) -> str:
        """One database for every gateway process of the run (they run one after another)."""
        return f"sqlite:///{self.workdir}/gateway.db"

    @property
    def webhook_url(self) -> str:
        return f"http://{LOOPBACK}:{self.http_port}/sms/inbound"

    @property
    def metrics_url(self) -> str:
        return f"http://{LOOPBACK}:{self.http_port}/metrics"

    async def start_servers(self) -> None:
        domains = (IRC_DOMAIN, SMS_DOMAIN, ECHO_DOMAIN, BIBOUMI_DOMAIN)
        self.prosody = ProsodyServer(self.workdir / "prosody", domain=DOMAIN,
                                     components=[ComponentSpec(d, self.secret) for d in domains])
        self.prosody.nagle = False
        self.prosody.start()
        self.ngircd = NgircdServer(self.workdir / "ngircd")
        self.ngircd.start()
        # status_delay: Twilio's "sent" and "delivered" callbacks follow each message, as they do in production.
        self.sandbox = BenchSandbox(ACCOUNT_SID, self.secret, self.webhook_url, status_delay=0.05)
        await self.sandbox.start(LOOPBACK, 0)

    async def register(self, users: list[str], parallel: int = 4) -> None:
        """prosodyctl register, a few at a time (each is a Lua start-up of ~65 ms)."""
        prosody = self.prosody
        assert prosody is not None
        gate = asyncio.Semaphore(parallel)

        async def one(user: str) -> None:
            async with gate:
                proc = await asyncio.create_subprocess_exec(
                    "prosodyctl", "--config", str(prosody.config_path), "register", user, DOMAIN, PASSWORD,
                    stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
                out, _ = await proc.communicate()
                if proc.returncode != 0:
                    raise RuntimeError(f"prosodyctl register {user} failed: {out.decode(errors='replace')}")

        await asyncio.gather(*(one(u) for u in users))

    # -- the gateway ------------------------------------------------------------------------------------------

    def gateway_config(self, settings: GatewaySettings, name: str) -> Path:
        assert self.prosody is not None and self.ngircd is not None and self.sandbox is not None
        workdir = self.workdir / name
        workdir.mkdir(parents=True, exist_ok=True)
        url = settings.database_url or self.sqlite_url
        text = f"""[xmpp]
host = "{LOOPBACK}"
component_port = {self.prosody.component_port}
admins = []

[database]
url = "{url}"

[http]
listen = "{LOOPBACK}:{self.http_port}"

[log]
level = "warning"
"""
        if settings.irc:
            # Flood control as high as the settings allow: the benchmark measures the gateway, not the pacing.
            text += f"""
[transports.irc]
jid = "{IRC_DOMAIN}"
secret = "{self.secret}"
access = "open"
flood_burst = 1000000
flood_rate = 1000
queue_size = 1000000
max_channels_per_user = 40

[[transports.irc.networks]]
name = "{NETWORK}"
host = "{LOOPBACK}"
port = {self.ngircd.port}
tls = false
"""
        if settings.sms:
            text += f"""
[transports.sms]
jid = "{SMS_DOMAIN}"
secret = "{self.secret}"
access = "open"
account_sid = "{ACCOUNT_SID}"
auth_token = "{self.secret}"
api_base_url = "{self.sandbox.url}"
number_check = "possible"
rate = 1000000
burst = 1000000
daily_segment_limit = 1000000000
"""
        path = workdir / "config.toml"
        path.write_text(text)
        return path

    async def start_gateway(self, settings: GatewaySettings, name: str = "gateway") -> tuple[Process, float]:
        """The gateway as `python -m gateway run`; seconds from exec until /healthz says every component is up."""
        config = self.gateway_config(settings, name)
        if settings.probe_report is None:
            argv = [sys.executable, "-m", "gateway", "run", "-c", str(config)]
        else:
            argv = [sys.executable, "-m", "bench.probe", str(settings.probe_report), "-c", str(config)]
        # bench.probe comes from this checkout, the gateway from the working directory (the baseline's, if any).
        env = {**os.environ, "PYTHONPATH": str(ROOT), **settings.env}
        process = Process(name, argv, self.workdir / name, settings.source or ROOT, env)
        self.processes.append(process)
        process.start()
        healthz = f"http://{LOOPBACK}:{self.http_port}/healthz"

        def healthy() -> bool:
            try:
                return http_json(healthz, 1)[0] == 200
            except OSError:
                return False

        return process, await process.wait_until(healthy, 60)

    async def start_echo(self) -> tuple[Process, float]:
        """The slixmpp echo component (one at a time with the raw bridge: same JID)."""
        return await self._start_component("echo", "bench.echo_component")

    async def start_raw_bridge(self, stanza_ids: bool = False) -> tuple[Process, float]:
        """The bridge without a stanza library, IRC connections to ngircd (one at a time with the echo: same JID)."""
        assert self.ngircd is not None
        extra = ("--stanza-ids",) if stanza_ids else ()
        return await self._start_component("raw-bridge" + "-ids" * stanza_ids, "bench.raw_bridge", "--irc-port",
                                           str(self.ngircd.port), *extra)

    async def _start_component(self, name: str, module: str, *extra: str) -> tuple[Process, float]:
        assert self.prosody is not None
        process = Process(name, [sys.executable, "-m", module, "--domain", ECHO_DOMAIN, "--secret", self.secret,
                                 "--port", str(self.prosody.component_port), *extra], self.workdir / name)
        self.processes.append(process)
        process.start()
        return process, await process.wait_until(lambda: process.log_has("component connected"), 30)

    def stop(self, process: Process) -> None:
        process.stop()
        if process in self.processes:
            self.processes.remove(process)

    async def close(self) -> None:
        for process in reversed(self.processes):
            process.stop()
        self.processes.clear()
        if self.sandbox is not None:
            await self.sandbox.stop()
        if self.ngircd is not None:
            self.ngircd.stop()
        if self.prosody is not None:
            self.prosody.stop()
