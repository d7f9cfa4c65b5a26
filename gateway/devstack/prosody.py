"""Run a throw-away Prosody (Debian package) on loopback, for tests and `xmpp-gateway demo`.

Prosody runs in the foreground (`prosody -F --config FILE`) as our child process, with its own
config, data directory, pidfile and log under `workdir`, so `stop()` ends exactly the process we
started. It starts in about 0.1 s and stops in about 10 ms on the development machine.

The generated config is the proven shape of `deploy/prosody-component.cfg.lua`: one VirtualHost,
c2s without TLS (loopback only) and one `Component` block per gateway domain. For domains listed in
`privileged_components`, mod_privilege (XEP-0356, Debian's prosody-modules) is loaded and grants
roster get/set and outgoing messages, so roster pushes can be tested.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from gateway.devstack.ports import LOOPBACK, free_port, xmpp_stream_answers

# Where Debian's prosody and prosody-modules put their modules (mod_privilege lives in a subfolder).
_MODULE_DIRS = (Path("/usr/lib/prosody/modules"), Path("/usr/share/prosody-modules"))


@dataclass(frozen=True)
class ComponentSpec:
    """One XEP-0114 external component the server accepts: its domain and shared secret."""

    domain: str
    secret: str


def prosody_available() -> bool:
    """True if the `prosody` executable is on PATH (tests skip otherwise)."""
    return shutil.which("prosody") is not None and shutil.which("prosodyctl") is not None


def find_mod_privilege() -> Path | None:
    """Directory holding mod_privilege.lua (to add to plugin_paths), or None if not installed."""
    for base in _MODULE_DIRS:
        for candidate in (base / "mod_privilege", base):
            if (candidate / "mod_privilege.lua").is_file():
                return candidate
    return None


def lua_string(value: str) -> str:
    """A Lua double-quoted string literal for `value`."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def log_tail(path: Path, lines: int = 40) -> str:
    """The last lines of a log file, or a note that there is none."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return f"(no log at {path})"
    return "\n".join(text.splitlines()[-lines:])


def _proc_stat(pid: int) -> tuple[int, str, str] | None:
    """(parent pid, state, start time) of a live process, from /proc; None if gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()  # the command name may contain spaces
    return int(fields[1]), fields[0], fields[19]


def _descendants(pid: int) -> list[tuple[int, str]]:
    """All descendants of pid as (pid, start time), so a reused PID is never mistaken for ours."""
    children: dict[int, list[tuple[int, str]]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (info := _proc_stat(int(entry.name))) is not None:
            children.setdefault(info[0], []).append((int(entry.name), info[2]))
    found: list[tuple[int, str]] = []
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child[0])
    return found


def _alive(pid: int, start_time: str) -> bool:
    info = _proc_stat(pid)
    return info is not None and info[2] == start_time and info[1] != "Z"


def stop_process(proc: subprocess.Popen[bytes], timeout: float) -> None:
    """SIGTERM the process by PID, wait; SIGKILL it if it hangs. Safe if it already exited.

    Its descendants (the Erlang VM's erl_child_setup and port programs run in sessions of their
    own) are waited for too, and killed if they outlive it, so nothing we started is left behind.
    """
    if proc.poll() is not None:
        return
    descendants = _descendants(proc.pid)
    try:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=timeout)
    except ProcessLookupError:  # exited between poll() and send_signal()
        proc.wait(timeout=timeout)
    deadline = time.monotonic() + timeout
    while any(_alive(*d) for d in descendants) and time.monotonic() < deadline:
        time.sleep(0.01)  # they notice their parent is gone and exit within milliseconds
    for pid, start_time in descendants:
        if _alive(pid, start_time):
            os.kill(pid, signal.SIGKILL)


class ProsodyServer:
    """A Prosody server we start and stop ourselves, on 127.0.0.1 and fixed (free) ports."""

    def __init__(
        self,
        workdir: Path,
        domain: str = "localhost",
        components: Sequence[ComponentSpec] = (),
        c2s_port: int | None = None,
        component_port: int | None = None,
        extra_modules: Sequence[str] = (),
        privileged_components: Sequence[str] = (),
    ) -> None:
        self.workdir = Path(workdir).resolve()
        self.domain = domain
        self.components = tuple(components)
        # Ports are fixed here so restart() comes back on the same ones.
        self.c2s_port = c2s_port if c2s_port is not None else free_port()
        self.component_port = component_port if component_port is not None else free_port()
        self.extra_modules = tuple(extra_modules)
        self.privileged_components = tuple(privileged_components)
        unknown = set(self.privileged_components) - {c.domain for c in self.components}
        if unknown:
            raise ValueError(f"privileged_components not among components: {sorted(unknown)}")
        self.config_path = self.workdir / "prosody.cfg.lua"
        self.log_path = self.workdir / "prosody.log"
        self.data_path = self.workdir / "data"
        self._proc: subprocess.Popen[bytes] | None = None

    # -- config ----------------------------------------------------------------------------

    def config_text(self) -> str:
        """The Prosody config this server runs with."""
        modules = ["roster", "saslauth", "disco", "ping", "version", "offline", "pep", *self.extra_modules]
        lines = [
            "-- Generated by gateway.devstack.prosody for a throw-away loopback server.",
            # As root Prosody refuses to start unless told; as another user it must not switch.
            f"run_as_root = {'true' if os.geteuid() == 0 else 'false'}",
            f"pidfile = {lua_string(str(self.workdir / 'prosody.pid'))}",
            f"data_path = {lua_string(str(self.data_path))}",
            f"certificates = {lua_string(str(self.workdir / 'certs'))}",
            f"interfaces = {{ {lua_string(LOOPBACK)} }}",
            f"local_interfaces = {{ {lua_string(LOOPBACK)} }}",
            f"c2s_ports = {{ {self.c2s_port} }}",
            f"component_ports = {{ {self.component_port} }}",
            f"component_interfaces = {{ {lua_string(LOOPBACK)} }}",
            "s2s_ports = { }",
            "http_ports = { }",
            "https_ports = { }",
            # Loopback only: no TLS, plain auth allowed. mod_limits stays out (it throttles tests).
            "c2s_require_encryption = false",
            "allow_unencrypted_plain_auth = true",
            'modules_disabled = { "s2s" }',
            'authentication = "internal_hashed"',
            'storage = "internal"',
            'log = { { levels = { min = "info" }, to = "console" } }',
        ]
        privileged = bool(self.privileged_components)
        if privileged:
            plugin_dir = find_mod_privilege()
            if plugin_dir is None:
                raise RuntimeError("mod_privilege not found: install Debian's prosody-modules")
            lines.append(f"plugin_paths = {{ {lua_string(str(plugin_dir))} }}")
        lines.append("modules_enabled = { " + ", ".join(lua_string(m) for m in modules) + " }")
        lines += ["", f"VirtualHost {lua_string(self.domain)}"]
        if privileged:
            # XEP-0356: the user host grants (host modules_enabled adds to the global list) and
            # the component host loads the module too, to announce the grant on connect.
            lines.append('    modules_enabled = { "privilege" }')
            lines.append("    privileged_entities = {")
            for domain in self.privileged_components:
                lines.append(f'        [{lua_string(domain)}] = {{ roster = "both", message = "outgoing" }},')
            lines.append("    }")
        for comp in self.components:
            lines += ["", f"Component {lua_string(comp.domain)}"]
            lines.append(f"    component_secret = {lua_string(comp.secret)}")
            if comp.domain in self.privileged_components:
                lines.append('    modules_enabled = { "privilege" }')
        return "\n".join(lines) + "\n"

    def write_config(self) -> Path:
        """Write the config, data and (empty) certs directories; return the config path."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.data_path.mkdir(exist_ok=True)
        (self.workdir / "certs").mkdir(exist_ok=True)
        self.config_path.write_text(self.config_text())
        return self.config_path

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self.running and self._proc is not None else None

    def start(self, timeout: float = 10) -> None:
        """Start Prosody in the foreground and wait until its c2s and component ports serve XMPP."""
        if self.running:
            raise RuntimeError("Prosody is already running")
        self.write_config()
        with open(self.log_path, "ab") as log:
            self._proc = subprocess.Popen(
                ["prosody", "-F", "--config", str(self.config_path)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.workdir,
                start_new_session=True,  # a Ctrl-C in the terminal reaches us, not the server
            )
        # Prosody opens the component port only when the config has a Component host.
        ports = [self.c2s_port] + ([self.component_port] if self.components else [])
        deadline = time.monotonic() + timeout
        while not self._ready():
            if self._proc.poll() is not None:
                code = self._proc.returncode
                self._proc = None
                raise RuntimeError(f"prosody exited early (status {code}); log tail:\n{log_tail(self.log_path)}")
            if time.monotonic() >= deadline:
                self.stop()
                raise RuntimeError(
                    f"prosody did not open ports {ports} within {timeout:g} s; log tail:\n{log_tail(self.log_path)}"
                )
            time.sleep(0.02)

    def _ready(self) -> bool:
        # A stream header answered proves the listener serves (and a bare TCP probe that closes
        # at once makes Prosody log a spurious error).
        if not xmpp_stream_answers(self.c2s_port, self.domain):
            return False
        if self.components:
            return xmpp_stream_answers(self.component_port, self.components[0].domain, "jabber:component:accept")
        return True

    def stop(self, timeout: float = 10) -> None:
        """Stop the server we started (SIGTERM, then SIGKILL if it hangs). Idempotent."""
        if self._proc is not None:
            stop_process(self._proc, timeout)
            self._proc = None

    def restart(self) -> None:
        """Stop then start again on the same ports and with the same data."""
        self.stop()
        self.start()

    def register(self, user: str, password: str) -> str:
        """Create an account (works while running); return its bare JID."""
        if not self.config_path.exists():
            self.write_config()
        result = subprocess.run(
            ["prosodyctl", "--config", str(self.config_path), "register", user, self.domain, password],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=30,
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"prosodyctl register {user}@{self.domain} failed ({result.returncode}): {result.stdout}{result.stderr}"
            )
        return f"{user}@{self.domain}"

    def __enter__(self) -> ProsodyServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
