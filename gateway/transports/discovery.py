"""Which transports are installed: every entry point of the group `xmpp_gateway.transports` names a
TransportDescriptor. The built-in transports register themselves in pyproject.toml the same way as one from
another distribution would."""

from __future__ import annotations

import functools
from importlib.metadata import entry_points

from gateway.transports.descriptor import TransportDescriptor

GROUP = "xmpp_gateway.transports"


class DiscoveryError(Exception):
    """An installed transport that cannot be used; the text names its entry point."""


@functools.cache
def descriptors() -> dict[str, TransportDescriptor]:
    """Every installed transport by kind, sorted by kind (read once per process)."""
    found: dict[str, TransportDescriptor] = {}
    origins: dict[str, str] = {}
    for entry in sorted(entry_points(group=GROUP), key=lambda e: e.name):
        where = f"{entry.name} = {entry.value}"
        if entry.dist is not None:
            where += f" (from {entry.dist.name})"
        if entry.name in found:
            raise DiscoveryError(f"two transports are named {entry.name}: {origins[entry.name]} and {where}")
        try:
            loaded = entry.load()
        except Exception as exc:  # a broken plug-in is named, not shown as a traceback from deep inside
            raise DiscoveryError(f"the transport {where} cannot be loaded: {exc!r}") from exc
        if isinstance(loaded, type) and issubclass(loaded, TransportDescriptor):
            loaded = loaded()
        if not isinstance(loaded, TransportDescriptor):
            raise DiscoveryError(f"the transport {where} is no TransportDescriptor")
        if loaded.kind != entry.name:
            raise DiscoveryError(f"the transport {where} calls itself {loaded.kind!r}")
        found[entry.name] = loaded
        origins[entry.name] = where
    return found


def descriptor(kind: str) -> TransportDescriptor:
    """The installed transport `kind`; KeyError if there is none."""
    return descriptors()[kind]
