from gateway.transports.settings import TransportSettings


class LoopbackSettings(TransportSettings):
    """Echoes every message back: proves the core path without an outside network."""
