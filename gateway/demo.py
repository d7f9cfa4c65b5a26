"""`xmpp-gateway demo`: Prosody on loopback, a demo user, and the gateway on SQLite with every installed transport
that has a demo (its descriptor's `demo()`: the local servers it talks to and how to try it), until Ctrl-C.

Everything lives under one directory (`.demo/` by default): the generated configs, the database and the
logs, so that the admin CLI can be tried on the running demo with `-c .demo/config.toml`.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from dataclasses import dataclass
from pathlib import Path

from gateway.app import Gateway
from gateway.config import load_config
from gateway.devstack.ports import LOOPBACK, can_listen, free_port
from gateway.devstack.prosody import ComponentSpec, ProsodyServer, prosody_available
from gateway.transports.descriptor import DemoPlace, TransportDemo
from gateway.transports.discovery import descriptors

log = logging.getLogger(__name__)

DEMO_DOMAIN = "localhost"
DEMO_USER = "demo"


def pick_port(preferred: int) -> int:
    """The well-known port when it is free to listen on (a demo restarted at once finds its own), so clients need no
    port setting; any free one otherwise."""
    return preferred if can_listen(preferred) else free_port()


@dataclass(frozen=True)
class _Offered:
    demo: TransportDemo
    place: DemoPlace


def _config_text(component_port: int, http_port: int, workdir: Path, tables: list[tuple[DemoPlace, str]]) -> str:
    text = f"""# Written by `xmpp-gateway demo`. Try: xmpp-gateway admin user list -c {workdir}/config.toml
[xmpp]
host = "{LOOPBACK}"
component_port = {component_port}
admins = ["{DEMO_USER}@{DEMO_DOMAIN}"]

[database]
url = "sqlite:///{workdir}/gateway.db"

[http]
listen = "{LOOPBACK}:{http_port}"
"""
    for place, settings in tables:
        text += f"""
[transports.{place.name}]
jid = "{place.domain}"
secret = "{place.secret}"
access = "open"
{settings}"""
    return text


def _banner(prosody: ProsodyServer, password: str, http_port: int, workdir: Path, offered: list[_Offered],
            absent: list[str]) -> str:
    jid = f"{DEMO_USER}@{DEMO_DOMAIN}"
    transports = "".join(o.demo.banner(o.place) for o in offered) + "".join(absent)
    return f"""
=====================================================================
 xmpp-gateway demo is running
 Log in from any XMPP client (Gajim, Dino, Conversations, Profanity):
   account   {jid}
   password  {password}
   server    {LOOPBACK}, port {prosody.c2s_port}, no TLS (loopback only)
 e.g.  profanity, then: /connect {jid} server {LOOPBACK} port {prosody.c2s_port} tls disable
{transports} Health:   http://{LOOPBACK}:{http_port}/healthz
 Metrics:  http://{LOOPBACK}:{http_port}/metrics
 Files:    {workdir} (config.toml, gateway.db, prosody/)
 Admin:    xmpp-gateway admin user list -c {workdir}/config.toml
 Ctrl-C stops everything.
=====================================================================
"""


async def _stop(offered: list[_Offered]) -> None:
    for o in reversed(offered):
        try:
            await o.demo.stop()
        except Exception:  # the other transports' servers are still stopped
            log.exception("the demo of %s did not stop cleanly", o.place.name)


async def run_demo(directory: Path) -> None:
    if not prosody_available():
        raise SystemExit("xmpp-gateway demo: prosody is not installed; `make demo` installs it")
    workdir = directory.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    config_path = workdir / "config.toml"
    secret = secrets.token_urlsafe(16)
    http_port = pick_port(8080)
    user = f"{DEMO_USER}@{DEMO_DOMAIN}"
    offered: list[_Offered] = []
    absent: list[str] = []  # banner lines: transports this machine cannot run
    for kind, installed in descriptors().items():
        demo = installed.demo()
        if demo is None:
            continue
        why_not = demo.missing()
        if why_not is not None:
            absent.append(f" {installed.title}: not offered ({why_not})\n")
            continue
        # One instance per kind, named after it, as a first config would have it.
        place = DemoPlace(name=kind, domain=f"{kind}.{DEMO_DOMAIN}", user=user, directory=workdir,
                          config=config_path, secret=secret, http_url=f"http://{LOOPBACK}:{http_port}",
                          pick_port=pick_port)
        offered.append(_Offered(demo, place))
    prosody = ProsodyServer(workdir / "prosody", domain=DEMO_DOMAIN, c2s_port=pick_port(5222),
                            component_port=pick_port(5347),
                            components=[ComponentSpec(o.place.domain, secret) for o in offered])
    try:
        tables = [(o.place, await o.demo.start(o.place)) for o in offered]
        config_path.write_text(_config_text(prosody.component_port, http_port, workdir, tables))
        config = load_config(config_path)
        prosody.start()
    except BaseException as exc:  # nothing started may outlive the demo
        prosody.stop()
        await _stop(offered)
        if isinstance(exc, (OSError, RuntimeError, TimeoutError)):
            raise SystemExit(f"xmpp-gateway demo: a server did not start: {exc}") from None
        raise
    try:
        password = secrets.token_urlsafe(9)
        prosody.register(DEMO_USER, password)
        gateway = Gateway(config)
        running = asyncio.create_task(gateway.run())
        while not running.done() and set(gateway.component_states().values()) != {"connected"}:
            await asyncio.wait([running], timeout=0.05)
        if not running.done():
            assert gateway.store is not None
            for o in offered:
                await o.demo.ready(gateway.store, o.place)
            print(_banner(prosody, password, http_port, workdir, offered, absent), flush=True)
        await running
    finally:
        prosody.stop()
        await _stop(offered)
