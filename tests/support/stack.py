"""A gateway on a real XMPP server: config building, in-process start, and a separate process for crash tests."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import aiohttp

from gateway.app import Gateway
from gateway.config import parse_config

LOOPBACK = "loopback.localhost"
LOOPBACK_SECRET = "loopback-secret"


def raw_config(*, component_port: int, http_port: int, database_url: str, admins: tuple[str, ...] = (),
               transports: dict[str, dict[str, Any]] | None = None, **tables: dict[str, Any]) -> dict[str, Any]:
    """A config as the TOML file would hold it; `tables` are merged into the fixed tables."""
    raw: dict[str, Any] = {
        "xmpp": {"host": "127.0.0.1", "component_port": component_port, "admins": list(admins),
                 "reconnect_max_delay": 2.0},
        "database": {"url": database_url},
        "http": {"listen": f"127.0.0.1:{http_port}"},
        "transports": transports if transports is not None else
        {"loopback": {"jid": LOOPBACK, "secret": LOOPBACK_SECRET, "access": "open"}},
    }
    for name, values in tables.items():
        raw.setdefault(name, {}).update(values)
    return raw


def to_toml(raw: dict[str, Any]) -> str:
    """Enough TOML for test configs (tables of strings, numbers, booleans and lists)."""
    lines: list[str] = []

    def table(prefix: str, values: dict[str, Any]) -> None:
        scalars = {k: v for k, v in values.items() if not isinstance(v, dict)}
        if prefix:
            lines.append(f"[{prefix}]")
        lines.extend(f"{k} = {json.dumps(v)}" for k, v in scalars.items())
        for key, sub in values.items():
            if isinstance(sub, dict):
                table(f"{prefix}.{key}" if prefix else key, sub)

    table("", raw)
    return "\n".join(lines) + "\n"


async def start_gateway(raw: dict[str, Any], tmp_path: Path, connect_timeout: float = 10) -> Gateway:
    gateway = Gateway(parse_config(raw, tmp_path / "config.toml", {}))
    await gateway.start()
    for component in gateway.components.values():
        if not await component.wait_connected(connect_timeout):
            await gateway.stop()
            raise TimeoutError(f"{component.domain} did not connect within {connect_timeout} s")
    return gateway


async def fetch(url: str, timeout: float = 5) -> tuple[int, bytes]:
    """GET from async tests: a blocking client would stall the in-process gateway serving the request."""
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as session, \
            session.get(url) as response:
        return response.status, await response.read()


def http_get(url: str, timeout: float = 5) -> tuple[int, bytes]:
    """GET from synchronous code, e.g. while a gateway runs in another process."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return int(response.status), bytes(response.read())
    except urllib.error.HTTPError as error:
        return int(error.code), bytes(error.read())


class GatewayProcess:
    """`python -m gateway run` in its own process, for tests that kill it."""

    def __init__(self, raw: dict[str, Any], workdir: Path) -> None:
        self.workdir = workdir
        self.config_path = workdir / "config.toml"
        self.config_path.write_text(to_toml(raw))
        self.http_url = f"http://{raw['http']['listen']}"
        self.log_path = workdir / "gateway.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 20) -> None:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen([sys.executable, "-m", "gateway", "run", "-c", str(self.config_path)],
                                        stdout=log, stderr=subprocess.STDOUT, env={**os.environ})
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gateway exited with {self.process.returncode}:\n{self.log()}")
            try:
                if http_get(self.http_url + "/healthz", timeout=1)[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise TimeoutError(f"gateway not healthy within {timeout} s:\n{self.log()}")

    def signal(self, sig: signal.Signals) -> None:
        assert self.process is not None
        self.process.send_signal(sig)

    def wait(self, timeout: float = 15) -> int:
        assert self.process is not None
        return self.process.wait(timeout)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


async def wait_until(predicate: Any, timeout: float = 10, interval: float = 0.05) -> None:
    """Poll `predicate()` (sync or async) until it is true; TimeoutError otherwise."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"condition not met within {timeout} s")
        await asyncio.sleep(interval)
