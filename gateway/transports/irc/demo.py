"""The IRC transport in `xmpp-gateway demo`: a local ngircd as the one network, its channel a group chat."""

from __future__ import annotations

from gateway.devstack.ngircd import NgircdServer, ngircd_available
from gateway.devstack.ports import LOOPBACK
from gateway.transports.descriptor import DemoPlace, TransportDemo

NETWORK = "demo"
CHANNEL = "#demo"
IRC_PORT = 6667


class IrcDemo(TransportDemo):
    def __init__(self) -> None:
        self.server: NgircdServer | None = None

    def missing(self) -> str | None:
        return None if ngircd_available() else "ngircd is not installed"

    async def start(self, place: DemoPlace) -> str:
        self.server = NgircdServer(place.directory / "ngircd", port=place.pick_port(IRC_PORT))
        self.server.start()
        return f"""
[[transports.{place.name}.networks]]
name = "{NETWORK}"
host = "{LOOPBACK}"
port = {self.server.port}
tls = false
"""

    def banner(self, place: DemoPlace) -> str:
        port = self.server.port if self.server is not None else IRC_PORT
        return (f" IRC: join the group chat  {CHANNEL}%{NETWORK}@{place.domain}  (a local ngircd on port {port});\n"
                f"   IRC clients can join it too: irssi -c {LOOPBACK} -p {port}\n")

    async def stop(self) -> None:
        if self.server is not None:
            self.server.stop()


def demo() -> IrcDemo:
    """Found by the descriptor's default `demo()`, by its place beside the descriptor."""
    return IrcDemo()
