"""The IRC transport as the shared layers see it (registered as an entry point in pyproject.toml)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gateway.transports.descriptor import TransportDescriptor
from gateway.transports.irc.settings import IrcSettings

if TYPE_CHECKING:
    from gateway.transports.base import Transport


class IrcDescriptor(TransportDescriptor):
    kind = "irc"
    settings = IrcSettings

    def adapter_class(self) -> type[Transport[Any]]:
        from gateway.transports.irc.transport import IrcTransport

        return IrcTransport


DESCRIPTOR = IrcDescriptor()
