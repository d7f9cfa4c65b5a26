"""The ceiling: a bare slixmpp component that acts as a minimal group chat (join, then every message to all).

Run in its own process (`python -m bench.echo_component`) so its event loop is as alone as the gateway's. A
presence to room@domain/nick joins (answered with a self-presence carrying status 110, as a MUC does); a
groupchat message is copied to every occupant of its room, so 1 occupant is an echo and 20 a 20-way fan-out.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
from typing import Any

from slixmpp import JID, ComponentXMPP

MUC_USER = "http://jabber.org/protocol/muc#user"


class EchoRooms(ComponentXMPP):
    def __init__(self, domain: str, secret: str) -> None:
        super().__init__(domain, secret)
        self.enable_direct_tls = False
        self.rooms: dict[str, dict[str, str]] = {}  # room bare JID -> occupant full JID -> nick
        self.add_event_handler("presence_available", self._join)
        self.add_event_handler("presence_unavailable", self._leave)
        self.add_event_handler("message", self._message)
        self.ready = asyncio.Event()
        self.add_event_handler("session_start", lambda _: self.ready.set())

    def _join(self, presence: Any) -> None:
        room, nick = presence["to"].bare, presence["to"].resource
        if not nick:
            return
        self.rooms.setdefault(room, {})[presence["from"].full] = nick
        reply = self.make_presence(pto=presence["from"], pfrom=presence["to"])
        x = reply.xml.makeelement(f"{{{MUC_USER}}}x", {})
        item = x.makeelement(f"{{{MUC_USER}}}item", {"affiliation": "none", "role": "participant"})
        status = x.makeelement(f"{{{MUC_USER}}}status", {"code": "110"})
        x.append(item)
        x.append(status)
        reply.xml.append(x)
        reply.send()

    def _leave(self, presence: Any) -> None:
        self.rooms.get(presence["to"].bare, {}).pop(presence["from"].full, None)

    def _message(self, msg: Any) -> None:
        if msg["type"] != "groupchat":
            return
        room = msg["to"].bare
        occupants = self.rooms.get(room, {})
        nick = occupants.get(msg["from"].full, "someone")
        for jid in occupants:
            self.send_message(mto=JID(jid), mfrom=JID(f"{room}/{nick}"), mbody=msg["body"], mtype="groupchat")


def parse_args() -> argparse.Namespace:
    """The arguments of both echo components: the component's domain and secret, and the server's port."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--domain", required=True)
    parser.add_argument("--secret", required=True)
    parser.add_argument("--port", type=int, required=True)
    return parser.parse_args()


async def until_stopped() -> None:
    """Return at SIGTERM or SIGINT."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()


async def main() -> None:
    args = parse_args()
    component = EchoRooms(args.domain, args.secret)
    component.connect("127.0.0.1", args.port)
    await component.ready.wait()
    print("echo component connected", flush=True)
    await until_stopped()
    await component.disconnect(wait=0.5)


if __name__ == "__main__":
    asyncio.run(main())
