"""The loopback transport as the shared layers see it (registered as an entry point in pyproject.toml)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gateway.transports.descriptor import TransportDemo, TransportDescriptor
from gateway.transports.loopback.settings import LoopbackSettings

if TYPE_CHECKING:
    from gateway.transports.base import Transport


class LoopbackDescriptor(TransportDescriptor):
    kind = "loopback"
    title = "Loopback"
    settings = LoopbackSettings

    def adapter_class(self) -> type[Transport[Any]]:
        from gateway.transports.loopback.transport import LoopbackTransport

        return LoopbackTransport

    def demo(self) -> TransportDemo:
        from gateway.transports.loopback.demo import LoopbackDemo

        return LoopbackDemo()


DESCRIPTOR = LoopbackDescriptor()
