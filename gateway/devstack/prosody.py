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
import subprocess
from abc import abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from gateway.devstack.ports import LOOPBACK, free_port, xmpp_stream_answers
from gateway.devstack.process import ManagedServer, log_tail, stop_process

__all__ = [
    "ComponentSpec",
    "ProsodyServer",
    "XmppServer",
    "find_mod_privilege",
    "log_tail",  # re-exported: it lived here first
    "lua_string",
    "prosody_available",
    "stop_process",
]

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


class XmppServer(ManagedServer):
    """What the Prosody and ejabberd launchers share: one domain, components, c2s and component ports."""

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
        super().__init__(workdir)
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

    def _ready(self) -> bool:
        # A stream header answered proves the listener serves: a TCP accept alone does not (ejabberd
        # binds early, serves later), and a bare probe that closes at once makes Prosody log an error.
        if not xmpp_stream_answers(self.c2s_port, self.domain):
            return False
        if self.components:
            return xmpp_stream_answers(self.component_port, self.components[0].domain, "jabber:component:accept")
        return True

    @abstractmethod
    def register(self, user: str, password: str) -> str:
        """Create an account; return its bare JID."""

    def _ports(self) -> list[int]:
        # The component port opens only when the config has components.
        return [self.c2s_port] + ([self.component_port] if self.components else [])

    def _awaited(self) -> str:
        return f"open ports {self._ports()}"


class ProsodyServer(XmppServer):
    """A Prosody server we start and stop ourselves, on 127.0.0.1 and fixed (free) ports."""

    name = "prosody"
    config_file = "prosody.cfg.lua"
    log_file = "prosody.log"
    # Prosody's default keeps Nagle's algorithm on its sockets. A client that only receives then gets small
    # stanzas in bursts, one per delayed ACK (about 40 ms): the benchmark turns it off for every target alike.
    nagle = True

    @property
    def data_path(self) -> Path:
        return self.workdir / "data"

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
            *([] if self.nagle else ["network_settings = { nagle = false }"]),
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

    def _command(self) -> list[str]:
        return ["prosody", "-F", "--config", str(self.config_path)]

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
