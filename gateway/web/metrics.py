"""Prometheus metrics, in a registry of their own so that several gateways can share one process (tests)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest

from gateway.core.events import Direction


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.messages = Counter("xmpp_gateway_messages", "Messages accepted, per transport and direction",
                                ["transport", "direction"], registry=self.registry)
        self.connected = Gauge("xmpp_gateway_component_connected",
                               "1 while the component's stream to the XMPP server is up", ["component"],
                               registry=self.registry)
        self.reconnects = Counter("xmpp_gateway_component_reconnects",
                                  "Attempts to connect again after a failure or a lost stream",
                                  ["component"], registry=self.registry)

        # labels() checks and locks on every call; the few children are looked up once (it ran per message).
        self._message_counters: dict[tuple[str, Direction], Counter] = {}

    def count_message(self, transport: str, direction: Direction) -> None:
        counter = self._message_counters.get((transport, direction))
        if counter is None:
            counter = self._message_counters[(transport, direction)] = self.messages.labels(
                transport=transport, direction=direction.value)
        counter.inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)
