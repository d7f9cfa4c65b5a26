"""Prometheus metrics, in a registry of their own so that several gateways can share one process (tests)."""

from __future__ import annotations

import asyncio

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from gateway.core.events import Direction

LAG_PROBE_INTERVAL = 0.1  # seconds: ten probes a second cost nothing measurable
LOOP_LAG = "xmpp_gateway_event_loop_lag_seconds"
LAG_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


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

        self.loop_lag = Histogram(LOOP_LAG,
                                  "How late the event loop ran a timer: what any callback waited behind others "
                                  "(a blocking call shows here)", buckets=LAG_BUCKETS, registry=self.registry)

        # labels() checks and locks on every call; the few children are looked up once (it ran per message).
        self._message_counters: dict[tuple[str, Direction], Counter] = {}

    def count_message(self, transport: str, direction: Direction) -> None:
        counter = self._message_counters.get((transport, direction))
        if counter is None:
            counter = self._message_counters[(transport, direction)] = self.messages.labels(
                transport=transport, direction=direction.value)
        counter.inc()

    async def watch_loop(self, interval: float = LAG_PROBE_INTERVAL) -> None:
        """Time a sleep on the loop again and again; what it overran by is the loop's lag (until cancelled).
        prometheus-client has no asyncio probe, and asyncio's own slow-callback log needs debug mode."""
        loop = asyncio.get_running_loop()
        while True:
            start = loop.time()
            await asyncio.sleep(interval)
            self.loop_lag.observe(max(loop.time() - start - interval, 0.0))

    def render(self) -> bytes:
        return generate_latest(self.registry)
