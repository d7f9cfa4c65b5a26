"""Run a throw-away ngIRCd 26 (Debian package ngircd) on loopback, for tests and `xmpp-gateway demo`.

ngircd runs in the foreground (`ngircd -n -f FILE`) as our child process with its own config (and an empty
include directory, so /etc/ngircd/ngircd.conf.d is never read) under `workdir`; `stop()` signals exactly the
PID we started. Facts that shaped the config (measured on the development machine):

- Started as root, ngircd reads its config and TLS key as root, then switches to `ServerUID`/`ServerGID`
  (here: irc) before it serves. That is why we do not start it through `setpriv` as irc: pytest's temporary
  directories (/tmp/pytest-of-root) are private to root, so a process that is irc from the start could not read
  its own config there. It cannot write there either once it has switched, hence no PID file (`PidFile` empty:
  we hold the PID) and the log goes to stdout (`-n`), which we redirect to `workdir/ngircd.log`. Started as
  another user, it simply stays that user.
- `[Limits] MaxConnectionsIP = 0` and `MaxPenaltyTime = 0`, or bursts from one address get throttled;
  `[Options] DNS = no`, `Ident = no`, `PAM = no` (Debian builds with PAM on). Values take no trailing comment.
- It starts in ~10 ms. With TLS but no `DHFile` it first generates 2048-bit DH parameters (~0.5 s), so we hand
  it the RFC 7919 ffdhe2048 group (`make_dh_params`), and it starts in ~10 ms again.
- It offers no IRCv3 beyond `CAP LS` with multi-prefix, and no SASL.

The module also holds what both IRC launchers share: the `IrcServer` base (ports, TLS, readiness probe) and a
small raw IRC client for tests that must see exactly the lines a server sends or receives.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pwd
import re
import shutil
import socket
import ssl
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from gateway.devstack.certs import make_dh_params, make_test_certificate
from gateway.devstack.ports import LOOPBACK, free_port, recv_until
from gateway.devstack.process import ManagedServer
from gateway.transports.irc.wire import Line, parse

__all__ = [
    "IrcLine",
    "IrcServer",
    "NgircdServer",
    "RawIrcClient",
    "irc_server_answers",
    "ngircd_available",
    "parse_line",
    "unprivileged_user",
]


def ngircd_available() -> bool:
    """True if the `ngircd` executable is installed (tests skip otherwise)."""
    return shutil.which("ngircd") is not None or Path("/usr/sbin/ngircd").is_file()


def _ngircd_executable() -> str:
    return shutil.which("ngircd") or "/usr/sbin/ngircd"


def unprivileged_user() -> str | None:
    """The user an IRC server started by root should switch to (irc, else nobody); None when we are not root."""
    if os.geteuid() != 0:
        return None
    for name in ("irc", "nobody"):
        try:
            pwd.getpwnam(name)
        except KeyError:
            continue
        return name
    raise RuntimeError("neither user irc nor nobody exists: an IRC server must not run as root")


def check_config_value(name: str, value: str) -> str:
    """Refuse a value that would break a line-based config file (a newline would add a setting of its own)."""
    if any(ch in value for ch in "\r\n\0") or value != value.strip():
        raise ValueError(f"{name} must be one line without leading or trailing blanks: {value!r}")
    return value


# -- the IRC wire, as much as tests need ------------------------------------------------------------------------


@dataclass(frozen=True)
class IrcLine(Line):
    """A received IRC line, parsed by the transport's parser, with the text it came from."""

    raw: str = ""


def parse_line(raw: str) -> IrcLine:
    """Parse one line (without CRLF) into its tags, source, command and parameters; the transport's parser."""
    line = parse(raw)
    if line is None:
        return IrcLine(raw=raw, command="")
    return IrcLine(raw=raw, command=line.command, params=line.params, source=line.source, tags=line.tags)


def irc_server_answers(
    port: int, *, tls: ssl.SSLContext | None = None, register: bool = False, timeout: float = 1.0
) -> bool:
    """True if an IRC server on 127.0.0.1:port answers (it really serves IRC, not only accepts TCP).

    It asks `CAP LS 302`, which a server answers before registration; with `register`, it registers instead
    (NICK/USER) and waits for 001, which InspIRCd delays by a second but ngircd answers at once.
    """
    nick = f"probe{os.getpid() % 100000}"
    try:
        with socket.create_connection((LOOPBACK, port), timeout=timeout) as plain:
            if plain.getsockname() == plain.getpeername():  # TCP self-connect to a free port
                return False
            sock = tls.wrap_socket(plain, server_hostname="localhost") if tls else plain
            # CAP LS before NICK/USER would hold registration until CAP END: one or the other.
            sock.sendall(f"NICK {nick}\r\nUSER probe 0 * :probe\r\n".encode() if register else b"CAP LS 302\r\n")
            wanted = re.compile(rb"^(?:@\S+ )?:\S+ 001 " if register else rb"^(?::\S+ )?CAP ", re.MULTILINE)
            if not recv_until(sock, lambda data: wanted.search(data) is not None, time.monotonic() + timeout):
                return False
            sock.sendall(b"QUIT :probe\r\n")
            return True
    except (OSError, ssl.SSLError):
        return False


class RawIrcClient:
    """A bare IRC client on asyncio streams for tests: sends exactly the bytes it is given, keeps every line.

    No library client is used here on purpose: tests must see the wire as it is (what a server received, which
    tags it added), and a library would answer PINGs and split or reject lines on its own.
    """

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.received: list[IrcLine] = []
        self.nick: str | None = None
        self._seen = 0  # lines already handed out by expect()

    @classmethod
    async def connect(cls, port: int, host: str = LOOPBACK, tls: ssl.SSLContext | None = None) -> RawIrcClient:
        hostname = "localhost" if tls else None
        reader, writer = await asyncio.open_connection(host, port, ssl=tls, server_hostname=hostname)
        return cls(reader, writer)

    async def send_raw(self, data: bytes) -> None:
        """Write bytes as given (a test of injection needs to put anything on the wire)."""
        self.writer.write(data)
        await self.writer.drain()

    async def send(self, line: str) -> None:
        if any(ch in line for ch in "\r\n\0"):
            raise ValueError(f"refusing to send a line with CR, LF or NUL: {line!r}")
        await self.send_raw(line.encode() + b"\r\n")

    async def read_line(self, timeout: float = 5.0) -> IrcLine:
        """The next line from the server (PINGs are answered and still recorded)."""
        data = await asyncio.wait_for(self.reader.readuntil(b"\n"), timeout)
        line = parse_line(data.rstrip(b"\r\n").decode("utf-8", errors="replace"))
        self.received.append(line)
        if line.command == "PING":
            await self.send("PONG :" + (line.params[-1] if line.params else ""))
        return line

    async def expect(self, predicate: Callable[[IrcLine], bool], timeout: float = 5.0) -> IrcLine:
        """The first line not yet handed out that matches, reading more as needed; TimeoutError if none comes."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            while self._seen < len(self.received):
                line = self.received[self._seen]
                self._seen += 1
                if predicate(line):
                    return line
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise TimeoutError(f"no matching line within {timeout:g} s; last lines: {self.received[-5:]}")
            try:
                await self.read_line(remaining)
            except asyncio.IncompleteReadError as exc:
                raise ConnectionError(f"server closed the connection; last lines: {self.received[-5:]}") from exc

    async def expect_command(self, command: str, timeout: float = 5.0) -> IrcLine:
        return await self.expect(lambda line: line.command == command.upper(), timeout)

    async def register(
        self, nick: str, *, caps: Sequence[str] = (), password: str | None = None, timeout: float = 10.0
    ) -> IrcLine:
        """PASS/CAP/NICK/USER; wait for 001 (the welcome). Requested caps must all be acknowledged."""
        if password is not None:
            await self.send(f"PASS :{password}")
        if caps:
            await self.send("CAP LS 302")
        await self.send(f"NICK {nick}")
        await self.send(f"USER {nick} 0 * :{nick} test client")
        if caps:
            await self.expect(lambda line: line.command == "CAP" and len(line.params) > 1 and line.params[1] == "LS")
            await self.send("CAP REQ :" + " ".join(caps))
            ack = await self.expect(lambda line: line.command == "CAP" and line.params[1] in ("ACK", "NAK"), timeout)
            if ack.params[1] != "ACK":
                raise RuntimeError(f"server refused caps {caps}: {ack.raw}")
            await self.send("CAP END")
        welcome = await self.expect_command("001", timeout)
        self.nick = nick
        return welcome

    async def join(self, channel: str, timeout: float = 5.0) -> None:
        """JOIN and wait for the end of NAMES (366), so the server has us in the channel."""
        await self.send(f"JOIN {channel}")
        await self.expect(lambda line: line.command == "366" and channel.lower() in (p.lower() for p in line.params),
                          timeout)

    async def close(self) -> None:
        if not self.writer.is_closing():
            try:
                self.writer.write(b"QUIT :bye\r\n")
                await self.writer.drain()
            except (ConnectionError, OSError):
                pass
            self.writer.close()
        with contextlib.suppress(ConnectionError, OSError, ssl.SSLError):
            await self.writer.wait_closed()


# -- the server -------------------------------------------------------------------------------------------------


class IrcServer(ManagedServer):
    """What both IRC launchers share: server name, password, ports, TLS with a test CA on demand, readiness."""

    def __init__(
        self,
        workdir: Path,
        server_name: str = "irc.localhost",
        port: int | None = None,
        tls_port: int | None = None,
        cert: Path | None = None,
        key: Path | None = None,
        password: str | None = None,
        *,
        tls: bool = False,
    ) -> None:
        super().__init__(workdir)
        self.server_name = check_config_value("server_name", server_name)
        if "." not in server_name:
            raise ValueError(f"an IRC server name needs a dot: {server_name!r}")
        if (cert is None) != (key is None):
            raise ValueError("give both cert and key, or neither")
        self.password = check_config_value("password", password) if password is not None else None
        # Ports are fixed here so restart() comes back on the same ones.
        self.port = port if port is not None else free_port()
        self.tls_enabled = tls or tls_port is not None or cert is not None
        self.tls_port: int | None = (tls_port if tls_port is not None else free_port()) if self.tls_enabled else None
        self.cert_path = Path(cert).resolve() if cert is not None else None
        self.key_path = Path(key).resolve() if key is not None else None
        self.ca_path: Path | None = None  # set when we made the certificate ourselves

    def _write_tls_files(self) -> None:
        """With TLS: a test CA and certificate unless given one, and DH parameters (or ngircd makes its own)."""
        if not self.tls_enabled:
            return
        if self.cert_path is None:
            self.ca_path, self.cert_path, self.key_path = make_test_certificate(self.workdir / "tls", self.server_name)
        if not (self.workdir / "dh.pem").exists():
            make_dh_params(self.workdir / "dh.pem")

    def client_tls_context(self) -> ssl.SSLContext:
        """A client context that trusts this server's test CA (verification on, as a real client does)."""
        if self.ca_path is None:
            raise RuntimeError("the server uses a certificate it did not make: build the context from its CA")
        return ssl.create_default_context(cafile=str(self.ca_path))

    def _probe_registers(self) -> bool:
        """Whether the plain-port probe registers (waits for 001) instead of asking CAP LS."""
        return False

    def _ready(self) -> bool:
        if not irc_server_answers(self.port, register=self._probe_registers()):
            return False
        if self.tls_port is not None:
            unverified = ssl.create_default_context()
            unverified.check_hostname = False
            unverified.verify_mode = ssl.CERT_NONE  # readiness only: clients verify
            return irc_server_answers(self.tls_port, tls=unverified)
        return True


class NgircdServer(IrcServer):
    """An ngircd we start and stop ourselves, on 127.0.0.1 and fixed (free) ports.

    TLS: give `cert` and `key` (PEM paths), or `tls=True` / a `tls_port` alone for a fresh test CA and certificate
    (`ca_path` then names the CA a client must trust). `password` sets the server password (PASS).
    """

    name = "ngircd"
    config_file = "ngircd.conf"
    log_file = "ngircd.log"
    poll_interval = 0.01

    # -- config ----------------------------------------------------------------------------------------------

    def config_text(self) -> str:
        """The ngircd config this server runs with."""
        user = unprivileged_user()
        lines = [
            "# Generated by gateway.devstack.ngircd for a throw-away loopback server.",
            "[Global]",
            f"Name = {self.server_name}",
            "Info = xmpp-gateway test server",
            "AdminInfo1 = xmpp-gateway tests",
            "AdminInfo2 = loopback only",
            "AdminEMail = root@localhost",
            f"Listen = {LOOPBACK}",
            f"Ports = {self.port}",
            "MotdPhrase = xmpp-gateway test server",
            "PidFile =",
        ]
        if user is not None:
            lines += [f"ServerUID = {user}", f"ServerGID = {user}"]
        if self.password is not None:
            lines.append(f"Password = {self.password}")
        lines += [
            "",
            "[Limits]",
            "MaxConnectionsIP = 0",
            "MaxPenaltyTime = 0",
            "MaxJoins = 0",
            "MaxNickLength = 30",
            "",
            "[Options]",
            "DNS = no",
            "Ident = no",
            "PAM = no",
            f"IncludeDir = {self.workdir / 'conf.d'}",
        ]
        if self.tls_enabled:
            assert self.cert_path is not None and self.key_path is not None
            lines += [
                "",
                "[SSL]",
                f"CertFile = {self.cert_path}",
                f"KeyFile = {self.key_path}",
                f"DHFile = {self.workdir / 'dh.pem'}",
                f"Ports = {self.tls_port}",
            ]
        return "\n".join(lines) + "\n"

    def write_config(self) -> Path:
        """Write the config (and the empty include directory, test certificate, DH parameters); return its path."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        (self.workdir / "conf.d").mkdir(exist_ok=True)
        self._write_tls_files()
        self.config_path.write_text(self.config_text())
        return self.config_path

    # -- lifecycle -------------------------------------------------------------------------------------------

    def _command(self) -> list[str]:
        return [_ngircd_executable(), "-n", "-f", str(self.config_path)]

    def _probe_registers(self) -> bool:
        return self.password is None
