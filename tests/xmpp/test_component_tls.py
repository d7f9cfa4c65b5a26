"""A component stream is plain TCP (XEP-0114): its components load no certificate store at start (slixmpp's
constructor would load the system's twice for each, about 36 ms apiece), and a TLS connection made with their
context would still verify, and fail without a store, rather than pass unverified."""

from __future__ import annotations

import ssl

from slixmpp.xmlstream import xmlstream

from gateway.app import Gateway
from gateway.xmpp.component import State


async def test_components_load_no_certificate_store_and_still_verify(gateway: Gateway) -> None:
    assert gateway.components
    for component in gateway.components.values():
        assert component.state is State.CONNECTED
        context = component.ssl_context
        assert context.cert_store_stats()["x509_ca"] == 0
        assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert xmlstream.ssl is ssl, "slixmpp's module has the ssl module back"
