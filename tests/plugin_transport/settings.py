"""The pager transport's config table: the shared keys and a default tone."""

from __future__ import annotations

from gateway.transports.settings import TransportSettings


class PagerSettings(TransportSettings):
    default_tone: str = "beep"
