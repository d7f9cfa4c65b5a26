"""`xmpp-gateway demo`: Prosody on loopback, a demo user, and the gateway on SQLite, until Ctrl-C.

Everything lives under one directory (`.demo/` by default): the generated configs, the database and the
logs, so that the admin CLI can be tried on the running demo with `-c .demo/config.toml`.
"""

from __future__ import annotations

import asyncio
import secrets
from pathlib import Path

from gateway.app import Gateway
from gateway.config import load_config
from gateway.devstack.ngircd import NgircdServer, ngircd_available
from gateway.devstack.ports import LOOPBACK, can_listen, free_port
from gateway.devstack.prosody import ComponentSpec, ProsodyServer, prosody_available
from gateway.transports.sms import admin as sms_admin
from gateway.transports.sms.sandbox import SmsSandbox
from gateway.transports.sms.webhooks import inbound_path

DEMO_DOMAIN = "localhost"
DEMO_USER = "demo"
LOOPBACK_DOMAIN = f"loopback.{DEMO_DOMAIN}"
SMS_DOMAIN = f"sms.{DEMO_DOMAIN}"
IRC_DOMAIN = f"irc.{DEMO_DOMAIN}"
IRC_NETWORK = "demo"
IRC_CHANNEL = "#demo"
# Numbers of the fictional 555-01xx range: valid in form, owned by nobody.
DEMO_NUMBER = "+12025550100"
PHONE_NUMBER = "+12025550123"
SANDBOX_ACCOUNT = "AC" + "de" * 16


def pick_port(preferred: int) -> int:
    """The well-known port when it is free to listen on (a demo restarted at once finds its own), so clients need no
    port setting; any free one otherwise."""
    return preferred if can_listen(preferred) else free_port()


def _config_text(component_port: int, http_port: int, workdir: Path, secret: str, sandbox_url: str,
                 irc_port: int | None) -> str:
    return f"""# Written by `xmpp-gateway demo`. Try: xmpp-gateway admin user list -c {workdir}/config.toml
[xmpp]
host = "{LOOPBACK}"
component_port = {component_port}
admins = ["{DEMO_USER}@{DEMO_DOMAIN}"]

[database]
url = "sqlite:///{workdir}/gateway.db"

[http]
listen = "{LOOPBACK}:{http_port}"

[transports.loopback]
jid = "{LOOPBACK_DOMAIN}"
secret = "{secret}"
access = "open"

[transports.sms]
jid = "{SMS_DOMAIN}"
secret = "{secret}"
access = "open"
account_sid = "{SANDBOX_ACCOUNT}"
auth_token = "{secret}"
api_base_url = "{sandbox_url}"
rate = 5
burst = 5
""" + ("" if irc_port is None else f"""
[transports.irc]
jid = "{IRC_DOMAIN}"
secret = "{secret}"
access = "open"

[[transports.irc.networks]]
name = "{IRC_NETWORK}"
host = "{LOOPBACK}"
port = {irc_port}
tls = false
""")


def _banner(prosody: ProsodyServer, password: str, http_port: int, workdir: Path, sandbox_url: str,
            irc: NgircdServer | None) -> str:
    jid = f"{DEMO_USER}@{DEMO_DOMAIN}"
    irc_lines = " IRC: not offered (ngircd is not installed)\n"
    if irc is not None:
        irc_lines = (f" IRC: join the group chat  {IRC_CHANNEL}%{IRC_NETWORK}@{IRC_DOMAIN}  (a local ngircd on port "
                     f"{irc.port});\n   IRC clients can join it too: irssi -c {LOOPBACK} -p {irc.port}\n")
    return f"""
=====================================================================
 xmpp-gateway demo is running
 Log in from any XMPP client (Gajim, Dino, Conversations, Profanity):
   account   {jid}
   password  {password}
   server    {LOOPBACK}, port {prosody.c2s_port}, no TLS (loopback only)
 e.g.  profanity, then: /connect {jid} server {LOOPBACK} port {prosody.c2s_port} tls disable
 Then send a message to  echo@{LOOPBACK_DOMAIN}  (any name works):
   it comes back, with a receipt when your client asks for one.
 SMS: your number is {DEMO_NUMBER}. Text  {PHONE_NUMBER}@{SMS_DOMAIN}  (or any +number@{SMS_DOMAIN});
   the phone page  {sandbox_url}/  shows it, and replies from there come back to you.
{irc_lines} Health:   http://{LOOPBACK}:{http_port}/healthz
 Metrics:  http://{LOOPBACK}:{http_port}/metrics
 Files:    {workdir} (config.toml, gateway.db, prosody/)
 Admin:    xmpp-gateway admin sms list -c {workdir}/config.toml
 Ctrl-C stops everything.
=====================================================================
"""


async def run_demo(directory: Path) -> None:
    if not prosody_available():
        raise SystemExit("xmpp-gateway demo: prosody is not installed; `make demo` installs it")
    workdir = directory.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(16)
    irc = NgircdServer(workdir / "ngircd", port=pick_port(6667)) if ngircd_available() else None
    components = [ComponentSpec(LOOPBACK_DOMAIN, secret), ComponentSpec(SMS_DOMAIN, secret)]
    if irc is not None:
        components.append(ComponentSpec(IRC_DOMAIN, secret))
    prosody = ProsodyServer(workdir / "prosody", domain=DEMO_DOMAIN, c2s_port=pick_port(5222),
                            component_port=pick_port(5347), components=components)
    http_port = pick_port(8080)
    sandbox = SmsSandbox(SANDBOX_ACCOUNT, secret, f"http://{LOOPBACK}:{http_port}{inbound_path('sms')}",
                         numbers=[DEMO_NUMBER], status_delay=1.0)
    await sandbox.start(LOOPBACK, pick_port(8088))
    config_path = workdir / "config.toml"
    config_path.write_text(_config_text(prosody.component_port, http_port, workdir, secret, sandbox.url,
                                        irc.port if irc is not None else None))
    config = load_config(config_path)

    try:
        prosody.start()
        if irc is not None:
            irc.start()
    except (RuntimeError, TimeoutError) as exc:
        prosody.stop()
        await sandbox.stop()
        raise SystemExit(f"xmpp-gateway demo: a server did not start: {exc}") from None
    try:
        password = secrets.token_urlsafe(9)
        user = prosody.register(DEMO_USER, password)
        gateway = Gateway(config)
        running = asyncio.create_task(gateway.run())
        while not running.done() and set(gateway.component_states().values()) != {"connected"}:
            await asyncio.wait([running], timeout=0.05)
        if not running.done():
            assert gateway.store is not None
            if not await gateway.store.bindings.find("sms", user):
                await sms_admin.bind(gateway.store, "sms", user, DEMO_NUMBER, None)
            print(_banner(prosody, password, http_port, workdir, sandbox.url, irc), flush=True)
        await running
    finally:
        if irc is not None:
            irc.stop()
        prosody.stop()
        await sandbox.stop()
