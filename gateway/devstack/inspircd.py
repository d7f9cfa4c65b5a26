"""Run a throw-away InspIRCd 3 (Debian package inspircd) on loopback: the IRCv3 server of the tests.

`inspircd --config FILE --nofork --nopid` runs as our child process with its own config, MOTD, data directory and
log under `workdir`; `stop()` signals exactly the PID we started. Facts that shaped the config (measured on the
development machine, InspIRCd 3.15):

- As root it refuses to start unless given `--runasroot`; with `<security runasuser runasgroup>` it reads its
  config, MOTD and TLS key and opens its log as root, then switches to that user (irc) before serving. pytest's
  temporary directories are private to root, so starting it as irc (setpriv) could not read them.
- It listens ~10 ms after exec; registration (001) comes ~1 s after NICK/USER (a once-a-second timer completes
  registrations), so the readiness probe asks `CAP LS 302` instead, and tests register clients concurrently.
- `<dns server="127.0.0.1">` and `resolvehostnames="no"`: no lookup ever leaves the machine. High `threshold`,
  `commandrate`, `recvq` and `fakelag="no"`, or a burst of test lines is penalised or killed as a flood.
- IRCv3: cap, ircv3 (account-notify, away-notify), server-time, message-tags (ctctags), msgid, echo-message,
  labeled-response, batch, account-tag, cap-notify, chghost; namesx gives multi-prefix, uhnames
  userhost-in-names.

SASL (`sasl=True`): InspIRCd offers SASL only with a services server linked, so we also run Debian's
atheme-services (7.2) in the foreground with its own config and database under `workdir/atheme`, linked over
spanningtree on a loopback port with a random link password, as `services.localhost` (a U-line). InspIRCd
advertises `sasl=PLAIN` once the link is up; atheme links ~25 ms after it starts and relinks within a second
after an InspIRCd restart. Atheme has no switch-user option; it runs as whoever starts it (root in tests, like
our ejabberd). Accounts are made through NickServ (`register_account`), which takes an IRC registration (~1 s).
"""

from __future__ import annotations

import secrets
import shutil
import subprocess
import time
from pathlib import Path

from gateway.devstack.ngircd import IrcServer, RawIrcClient, check_config_value, unprivileged_user
from gateway.devstack.ports import LOOPBACK, free_port
from gateway.devstack.process import log_tail, spawn, stop_process

__all__ = ["IRCV3_CAPS", "SERVICES_NAME", "InspircdServer", "atheme_available", "inspircd_available"]

SERVICES_NAME = "services.localhost"
_ATHEME_MODULES = (
    "protocol/inspircd",
    "backend/opensex",
    "crypto/posix",
    "nickserv/main",
    "nickserv/identify",
    "nickserv/register",
    "saslserv/main",
    "saslserv/plain",
)

# The capabilities the test server offers and the transport asks for.
IRCV3_CAPS = (
    "server-time",
    "message-tags",
    "echo-message",
    "away-notify",
    "account-notify",
    "chghost",
    "multi-prefix",
    "labeled-response",
    "batch",
)

_MODULES = (
    "cap",
    "ircv3",
    "ircv3_servertime",
    "ircv3_batch",
    "ircv3_echomessage",
    "ircv3_labeledresponse",
    "ircv3_msgid",
    "ircv3_ctctags",
    "ircv3_accounttag",
    "ircv3_capnotify",
    "ircv3_chghost",
    "chghost",
    "namesx",
    "uhnames",
)


def inspircd_available() -> bool:
    """True if the `inspircd` executable is installed (tests skip otherwise)."""
    return _executable() is not None


def atheme_available() -> bool:
    """True if Debian's atheme-services is installed (SASL tests skip otherwise)."""
    return shutil.which("atheme-services") is not None


def _executable() -> str | None:
    found = shutil.which("inspircd")
    if found is None and Path("/usr/sbin/inspircd").is_file():
        found = "/usr/sbin/inspircd"
    return found


def _attr(name: str, value: str) -> str:
    """A config attribute; values that would need escaping are refused (tests need none)."""
    check_config_value(name, value)
    if any(ch in value for ch in '"&<>'):
        raise ValueError(f"{name} must not contain \", &, < or >: {value!r}")
    return f'{name}="{value}"'


class InspircdServer(IrcServer):
    """An InspIRCd we start and stop ourselves, on 127.0.0.1 and fixed (free) ports.

    TLS as for NgircdServer: `cert` and `key`, or `tls=True` / a `tls_port` alone for a fresh test CA (`ca_path`).
    """

    name = "inspircd"
    config_file = "inspircd.conf"
    log_file = "inspircd.log"  # the server's own log
    poll_interval = 0.01

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
        network: str = "TestNet",
        sasl: bool = False,
    ) -> None:
        super().__init__(workdir, server_name, port, tls_port, cert, key, password, tls=tls)
        self.network = check_config_value("network", network)
        if password is not None:
            _attr("password", password)
        self.stdout_path = self.workdir / "inspircd.out"  # what it prints while starting
        self.sasl = sasl
        self.link_port: int | None = free_port() if sasl else None
        self._link_password = secrets.token_hex(16)
        self.atheme_dir = self.workdir / "atheme"
        self._atheme: subprocess.Popen[bytes] | None = None

    # -- config ----------------------------------------------------------------------------------------------

    def config_text(self) -> str:
        """The InspIRCd config this server runs with."""
        w = self.workdir
        lines = [
            "# Generated by gateway.devstack.inspircd for a throw-away loopback server.",
            f"<server {_attr('name', self.server_name)} description=\"xmpp-gateway test server\" "
            f"{_attr('network', self.network)}>",
            '<admin name="xmpp-gateway tests" nick="admin" email="root@localhost">',
            f'<bind address="{LOOPBACK}" port="{self.port}" type="clients">',
            f"<path {_attr('configdir', str(w))} {_attr('datadir', str(w / 'data'))} {_attr('logdir', str(w))}>",
            f"<files {_attr('motd', str(w / 'motd.txt'))}>",
            f"<log method=\"file\" type=\"* -USERINPUT -USEROUTPUT\" level=\"default\" "
            f"{_attr('target', str(self.log_path))}>",
            '<dns server="127.0.0.1" timeout="1">',
            # One class for everyone: no lookups, no ident, and limits far above what a test sends.
            '<connect name="main" allow="*" timeout="20" pingfreq="2m" hardsendq="4M" softsendq="1M" recvq="256K"'
            ' threshold="100000" commandrate="10000000" fakelag="no" localmax="1000" globalmax="1000"'
            ' resolvehostnames="no" useident="no" limit="5000" maxchans="100"'
            + (f" {_attr('password', self.password)}" if self.password is not None else "")
            + ">",
            '<options allowzerolimit="no">',
        ]
        user = unprivileged_user()
        if user is not None:
            lines.append(f"<security {_attr('runasuser', user)} {_attr('runasgroup', user)}>")
        lines += [f'<module name="{name}">' for name in _MODULES]
        if self.sasl:
            lines += [
                '<module name="spanningtree">',
                '<module name="services_account">',
                '<module name="svshold">',
                '<module name="sasl">',
                f'<sasl target="{SERVICES_NAME}">',
                f'<bind address="{LOOPBACK}" port="{self.link_port}" type="servers">',
                f'<link name="{SERVICES_NAME}" ipaddr="{LOOPBACK}" port="{self.link_port}" allowmask="{LOOPBACK}"'
                f' sendpass="{self._link_password}" recvpass="{self._link_password}">',
                f'<uline server="{SERVICES_NAME}" silent="yes">',
            ]
        lines.append('<ircv3 accountnotify="yes" awaynotify="yes" extendedjoin="no">')
        if self.tls_enabled:
            assert self.cert_path is not None and self.key_path is not None
            lines += [
                '<module name="ssl_gnutls">',
                f"<sslprofile name=\"tls\" provider=\"gnutls\" {_attr('certfile', str(self.cert_path))} "
                f"{_attr('keyfile', str(self.key_path))} {_attr('dhfile', str(w / 'dh.pem'))}"
                ' requestclientcert="no">',
                f'<bind address="{LOOPBACK}" port="{self.tls_port}" type="clients" sslprofile="tls">',
            ]
        return "\n".join(lines) + "\n"

    def atheme_config_text(self) -> str:
        """The atheme-services config: just NickServ (to register accounts) and SaslServ with PLAIN."""
        lines = [f'loadmodule "modules/{name}";' for name in _ATHEME_MODULES]
        lines += [
            "serverinfo {",
            f'    name = "{SERVICES_NAME}";',
            '    desc = "xmpp-gateway test services";',
            '    numeric = "00A";',
            "    recontime = 1;",
            f'    netname = "{self.network}";',
            '    hidehostsuffix = "users.test";',
            '    adminname = "xmpp-gateway tests";',
            '    adminemail = "root@localhost";',
            '    registeremail = "root@localhost";',
            '    mta = "/bin/false";',
            "    loglevel = { error; info; admin; network; };",
            "    maxlogins = 50;",
            "    maxusers = 1000;",
            "    mdlimit = 30;",
            "    emaillimit = 1000;",
            "    emailtime = 1;",
            "    auth = none;",
            "    casemapping = rfc1459;",
            "};",
            f'uplink "{self.server_name}" {{',
            f'    host = "{LOOPBACK}";',
            f'    password = "{self._link_password}";',
            f"    port = {self.link_port};",
            "};",
            "nickserv {",
            '    nick = "NickServ"; user = "NickServ"; host = "services.localhost"; real = "Nickname Services";',
            "    maxnicks = 5; expire = 0;",
            "};",
            "saslserv {",
            '    nick = "SaslServ"; user = "SaslServ"; host = "services.localhost"; real = "SASL";',
            "};",
            "general {",
            "    flood_msgs = 10000; flood_time = 1; ratelimit_uses = 10000; ratelimit_period = 1;",
            '    commit_interval = 5; language = "en"; uplink_sendq_limit = 1048576;',
            "};",
        ]
        return "\n".join(lines) + "\n"

    def write_config(self) -> Path:
        """Write the config, MOTD, data directory (and test certificate, DH parameters); return the config path."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        (self.workdir / "data").mkdir(exist_ok=True)
        (self.workdir / "motd.txt").write_text("xmpp-gateway test server (loopback only)\n")
        self._write_tls_files()
        self.config_path.write_text(self.config_text())
        if self.sasl:
            (self.atheme_dir / "data").mkdir(parents=True, exist_ok=True)
            (self.atheme_dir / "atheme.conf").write_text(self.atheme_config_text())
        return self.config_path

    # -- lifecycle -------------------------------------------------------------------------------------------

    def _command(self) -> list[str]:
        executable = _executable()
        if executable is None:
            raise RuntimeError("inspircd is not installed (apt install inspircd)")
        argv = [executable, "--config", str(self.config_path), "--nofork", "--nopid"]
        if unprivileged_user() is not None:
            argv.append("--runasroot")  # it switches to <security runasuser> itself once it has read its files
        return argv

    def _output_path(self) -> Path:
        return self.stdout_path

    def _logs(self) -> str:
        return f"log tail:\n{log_tail(self.stdout_path)}\n-- {self.log_path.name}:\n{log_tail(self.log_path)}"

    def start(self, timeout: float = 10) -> None:
        """Start InspIRCd in the foreground and wait until every listener answers IRC (and services link)."""
        deadline = self._start_process(timeout)
        if self.sasl:
            self._start_atheme(deadline)

    def _start_atheme(self, deadline: float) -> None:
        if not atheme_available():
            self.stop()
            raise RuntimeError("atheme-services is not installed (apt install atheme-services)")
        out_path = self.atheme_dir / "atheme.out"
        out_path.write_bytes(b"")
        (self.atheme_dir / "atheme.pid").unlink(missing_ok=True)
        d = self.atheme_dir
        argv = ["atheme-services", "-n", "-c", str(d / "atheme.conf"), "-D", str(d / "data"),
                "-l", str(d / "atheme.log"), "-p", str(d / "atheme.pid")]  # fmt: skip
        self._atheme = spawn(argv, out_path, self.atheme_dir)
        # atheme says so once the burst is exchanged; from then on InspIRCd offers sasl=PLAIN.
        while b"finished synching with uplink" not in out_path.read_bytes():
            if self._atheme.poll() is not None or time.monotonic() >= deadline:
                tail = log_tail(out_path)
                self.stop()
                raise RuntimeError(f"atheme did not link to inspircd; its output:\n{tail}")
            time.sleep(0.01)

    async def register_account(self, account: str, password: str, email: str = "test@example.org") -> None:
        """Create a services account (NickServ REGISTER) for SASL logins; ~1 s, as it takes an IRC registration."""
        if not self.sasl:
            raise RuntimeError("start the server with sasl=True to have services")
        client = await RawIrcClient.connect(self.port)
        try:
            await client.register(account)
            await client.send(f"PRIVMSG NickServ :REGISTER {password} {email}")
            reply = await client.expect(lambda line: line.command == "NOTICE" and line.nick == "NickServ")
            if "registered" not in reply.params[-1]:
                raise RuntimeError(f"NickServ refused to register {account}: {reply.params[-1]}")
        finally:
            await client.close()

    def stop(self, timeout: float = 10) -> None:
        """Stop services, then the server (SIGTERM to its PID, SIGKILL if it hangs). Idempotent."""
        if self._atheme is not None:
            stop_process(self._atheme, timeout)
            self._atheme = None
        super().stop(timeout)
