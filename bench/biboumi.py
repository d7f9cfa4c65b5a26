"""biboumi (Debian package, 9.0) as the reference XMPP-IRC gateway, configured the way its documentation says.

- The daemon config (`option=value` lines, file given as the only argument): hostname, password, the component
  port, `db_name` (an SQLite file: message history lives there), `identd_port=0` (no listener on port 113),
  logs to a file.
- Per user, through ad-hoc commands (XEP-0050), as a user would: `configure` on the IRC server JID
  (`127.0.0.1@biboumi.localhost`) sets the plain port and no TLS ports (else it tries 6697/6670 first) and
  `throttle_limit=-1` (its flood control off; the default is 10 lines, then 1 a second); `configure` on the
  component JID sets `record_history` (on by default: one SQLite transaction per receiving user and line).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from xml.sax.saxutils import escape

from bench.stack import BIBOUMI_DOMAIN, Process
from bench.xmpp_load import RawXmppClient
from gateway.devstack.ports import LOOPBACK

COMMANDS = "http://jabber.org/protocol/commands"
IRC_SERVER = LOOPBACK
READY_LINE = "Authenticated with the XMPP server"


def biboumi_available() -> bool:
    return shutil.which("biboumi") is not None


def room_jid(channel: str) -> str:
    return f"{channel}%{IRC_SERVER}@{BIBOUMI_DOMAIN}"


def write_config(workdir: Path, secret: str, component_port: int) -> Path:
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / "biboumi.cfg"
    path.write_text("\n".join([
        f"hostname={BIBOUMI_DOMAIN}",
        f"password={secret}",
        f"xmpp_server_ip={LOOPBACK}",
        f"port={component_port}",
        f"db_name={workdir / 'biboumi.sqlite'}",
        "identd_port=0",
        "realname_customization=true",
        "log_level=1",
        f"log_file={workdir / 'biboumi-daemon.log'}",
        f"policy_directory={workdir}",
    ]) + "\n")
    return path


def process(workdir: Path, secret: str, component_port: int) -> Process:
    config = write_config(workdir, secret, component_port)
    return Process("biboumi", ["biboumi", str(config)], workdir)


def ready(proc: Process) -> bool:
    try:
        return READY_LINE in (proc.workdir / "biboumi-daemon.log").read_text(errors="replace")
    except OSError:
        return False


async def _configure(client: RawXmppClient, to: str, fields: dict[str, list[str]]) -> None:
    """Run the `configure` ad-hoc command on `to` and submit `fields` (a field with no values is emptied)."""
    first = await client.iq("set", to, f"<command xmlns='{COMMANDS}' node='configure' action='execute'/>")
    command = first.find(f"{{{COMMANDS}}}command")
    if command is None or not command.get("sessionid"):
        raise RuntimeError(f"biboumi's configure on {to} gave no session")
    form = "".join(f"<field var='{var}'>" + "".join(f"<value>{escape(v)}</value>" for v in values) + "</field>"
                   for var, values in fields.items())
    done = await client.iq("set", to, f"<command xmlns='{COMMANDS}' node='configure' action='complete'"
                           f" sessionid='{command.get('sessionid')}'><x xmlns='jabber:x:data' type='submit'>{form}"
                           "</x></command>")
    completed = done.find(f"{{{COMMANDS}}}command")
    if completed is None or completed.get("status") != "completed":
        raise RuntimeError(f"biboumi's configure on {to} did not complete")


async def configure_user(client: RawXmppClient, irc_port: int, record_history: bool) -> None:
    """What each benchmark user sets before joining: the server's port, throttle off, history on or off."""
    await _configure(client, f"{IRC_SERVER}@{BIBOUMI_DOMAIN}",
                     {"ports": [str(irc_port)], "tls_ports": [], "throttle_limit": ["-1"]})
    await _configure(client, BIBOUMI_DOMAIN, {"record_history": ["1" if record_history else "0"]})
