"""The loopback transport in `xmpp-gateway demo`: the first thing to try, needing no server of its own."""

from __future__ import annotations

from gateway.transports.descriptor import DemoPlace, TransportDemo


class LoopbackDemo(TransportDemo):
    def banner(self, place: DemoPlace) -> str:
        return (f" Echo: send a message to  echo@{place.domain}  (any name works):\n"
                "   it comes back, with a receipt when your client asks for one.\n")
