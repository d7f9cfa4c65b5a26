"""`xmpp-gateway demo` learns what each transport needs from its descriptor's `demo()`; demo.py names none."""

from __future__ import annotations

from typing import Any

from gateway.transports.base import Transport
from gateway.transports.descriptor import TransportDemo, TransportDescriptor
from gateway.transports.discovery import descriptors
from gateway.transports.settings import TransportSettings


class _WithoutDemo(TransportDescriptor):
    kind = "nodemo"
    title = "No demo"
    settings = TransportSettings

    def adapter_class(self) -> type[Transport[Any]]:
        raise NotImplementedError


def test_every_built_in_transport_has_a_demo() -> None:
    for kind in ("loopback", "sms", "irc"):
        assert isinstance(descriptors()[kind].demo(), TransportDemo), kind


def test_a_demo_module_beside_the_descriptor_is_found_without_declaring_it() -> None:
    class BesideIrcDemo(_WithoutDemo):  # no demo() of its own, in a folder that has a demo module
        pass

    BesideIrcDemo.__module__ = "gateway.transports.irc.descriptor"
    first, second = BesideIrcDemo().demo(), BesideIrcDemo().demo()
    assert isinstance(first, TransportDemo)
    assert first is not second  # one per run: it holds the servers it starts


def test_a_transport_without_a_demo_module_is_left_out_of_the_demo() -> None:
    assert _WithoutDemo().demo() is None
