"""Development tooling stays out of the runtime path: `xmpp-gateway run` never imports the local servers of
gateway/devstack/ nor the SMS sandbox, which only `demo`, `sms-sandbox` and the tests use.

What a process imported is read from `python -X importtime`, which names every module as it is first imported,
so also what a running gateway imports lazily.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gateway.devstack.ports import free_port
from gateway.devstack.prosody import ComponentSpec, ProsodyServer, prosody_available
from tests.support.stack import LOOPBACK, LOOPBACK_SECRET, http_get, raw_config, to_toml

DEVELOPMENT = ("gateway.devstack", "gateway.transports.sms.sandbox", "gateway.demo")
# Only `admin ...` and the transports' own tools need the transports' command-line modules; `run` builds a parser
# without them (start-up time).
NOT_FOR_RUN = ("gateway.transports.sms.cli", "gateway.transports.irc.cli")


def imported(importtime_output: str) -> set[str]:
    """The modules named by -X importtime lines ("import time: self | cumulative | name")."""
    return {line.rpartition("|")[2].strip() for line in importtime_output.splitlines()
            if line.startswith("import time:") and "|" in line}


def development(modules: set[str]) -> set[str]:
    """Development tooling among `modules`, a transport's demo (gateway/transports/<name>/demo.py) included."""
    return {m for m in modules if any(m == d or m.startswith(d + ".") for d in DEVELOPMENT)
            or (m.startswith("gateway.transports.") and m.endswith(".demo"))}


def test_run_help_imports_no_development_tooling() -> None:
    result = subprocess.run([sys.executable, "-X", "importtime", "-m", "gateway", "run", "--help"],
                            capture_output=True, text=True, timeout=60, check=True)
    modules = imported(result.stderr)
    assert "gateway.cli" in modules  # the probe sees the command line's imports
    assert development(modules) == set()


def test_run_imports_no_transport_command_line() -> None:
    result = subprocess.run([sys.executable, "-X", "importtime", "-m", "gateway", "run", "--help"],
                            capture_output=True, text=True, timeout=60, check=True)
    modules = imported(result.stderr)
    assert "gateway.cli" in modules  # the probe sees the command line's imports
    assert modules & set(NOT_FOR_RUN) == set()


def run_gateway(tmp_path: Path, *python_args: str) -> str:
    """Start `python <python_args> -m gateway run` with the loopback, SMS and IRC transports, wait until it is
    healthy, stop it; what it printed."""
    if not prosody_available():
        pytest.skip("prosody is not installed")
    sms, irc = ComponentSpec("sms.localhost", "sms-secret"), ComponentSpec("irc.localhost", "irc-secret")
    prosody = ProsodyServer(tmp_path / "prosody", components=[ComponentSpec(LOOPBACK, LOOPBACK_SECRET), sms, irc])
    prosody.start()
    try:
        http_port = free_port()
        raw = raw_config(
            component_port=prosody.component_port, http_port=http_port,
            database_url=f"sqlite+aiosqlite:///{tmp_path / 'gateway.db'}",
            transports={
                "loopback": {"jid": LOOPBACK, "secret": LOOPBACK_SECRET, "access": "open"},
                "sms": {"jid": sms.domain, "secret": sms.secret, "account_sid": "AC" + "5a" * 16,
                        "auth_token": "token", "api_base_url": f"http://127.0.0.1:{free_port()}"},
                "irc": {"jid": irc.domain, "secret": irc.secret},
            })
        config = tmp_path / "config.toml"
        config.write_text(to_toml(raw))
        output = tmp_path / "gateway.log"
        with output.open("wb") as log:
            process = subprocess.Popen([sys.executable, *python_args, "-m", "gateway", "run", "-c", str(config)],
                                       stdout=log, stderr=subprocess.STDOUT, env={**os.environ})
            try:
                _wait_healthy(process, f"http://127.0.0.1:{http_port}/healthz", output)
            finally:
                process.send_signal(signal.SIGTERM)
                process.wait(30)
    finally:
        prosody.stop()
    return output.read_text(errors="replace")


def test_a_running_gateway_imports_no_development_tooling(tmp_path: Path) -> None:
    modules = imported(run_gateway(tmp_path, "-X", "importtime"))
    # The probe saw the whole run path: the composition root, the components and each configured transport.
    assert {"gateway.app", "gateway.xmpp.component", "gateway.transports.sms.transport",
            "gateway.transports.irc.transport", "gateway.transports.loopback.transport"} <= modules
    assert development(modules) == set()
    assert modules & set(NOT_FOR_RUN) == set()  # nor, lazily, what only `admin` needs


# Prints, for each module in WATCHED as it is first imported, whether the collector was on and whether the import
# ran on the main thread; then runs `python -m gateway` as usual.
WATCHING = """
import gc, runpy, sys, threading
WATCHED = {"gateway.cli", "gateway.app", "gateway.transports.irc.transport", "twilio.rest"}
class Watch:
    def find_spec(self, name, path=None, target=None):
        if name in WATCHED:
            on_main = threading.current_thread() is threading.main_thread()
            print(f"imported {name} collector={gc.isenabled()} main={on_main}", flush=True)
        return None
sys.meta_path.insert(0, Watch())
sys.argv = ["gateway", *sys.argv[sys.argv.index("gateway") + 1:]]  # after "-m gateway"
runpy.run_module("gateway", run_name="__main__", alter_sys=True)
"""


def test_start_up_makes_its_objects_without_collections_and_loads_twilio_beside_the_connecting(
        tmp_path: Path) -> None:
    output = run_gateway(tmp_path, "-c", WATCHING)
    seen = dict(line.split(" ", 2)[1:] for line in output.splitlines() if line.startswith("imported "))
    # Collections walk start-up's objects again and again while they are made: none run until start-up is over.
    assert {name: seen.get(name) for name in ("gateway.cli", "gateway.app", "gateway.transports.irc.transport")} \
        == dict.fromkeys(("gateway.cli", "gateway.app", "gateway.transports.irc.transport"),
                         "collector=False main=True")
    # The SMS SDK, which no component needs to connect, loads in a thread.
    assert seen.get("twilio.rest", "").endswith("main=False"), output


# A transport's command line and commands are imported by `xmpp-gateway admin ...`; transports never import
# slixmpp, not even through the shared admin modules they use.
TRANSPORT_CLI = ("gateway.transports.sms.cli", "gateway.transports.irc.cli", "gateway.transports.sms.commands",
                 "gateway.transports.irc.commands")


@pytest.mark.parametrize("module", TRANSPORT_CLI)
def test_a_transports_command_line_imports_no_slixmpp(module: str) -> None:
    result = subprocess.run([sys.executable, "-X", "importtime", "-c", f"import {module}"],
                            capture_output=True, text=True, timeout=60, check=True)
    modules = imported(result.stderr)
    assert module in modules  # the probe sees the module's imports
    assert {m for m in modules if m == "slixmpp" or m.startswith("slixmpp.")} == set()


def _wait_healthy(process: subprocess.Popen[bytes], url: str, output: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gateway exited with {process.returncode}:\n{output.read_text(errors='replace')}")
        try:
            if http_get(url, timeout=1)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.05)
    raise TimeoutError(f"gateway not healthy within {timeout} s:\n{output.read_text(errors='replace')}")
