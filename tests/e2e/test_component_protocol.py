"""What every component answers on a real server: disco, ping, version, unknown IQs, help, bad addresses."""

from __future__ import annotations

import asyncio
import time

import pytest
from slixmpp.exceptions import IqError
from slixmpp.xmlstream import ET

from gateway.app import Gateway
from tests.e2e.helpers import metric
from tests.support.stack import LOOPBACK, http_get, wait_until
from tests.support.xmpp_client import TestClient


async def test_disco_info_names_a_loopback_gateway_with_its_features(gateway: Gateway, alice: TestClient) -> None:
    info = (await alice.plugin["xep_0030"].get_info(jid=LOOPBACK, timeout=5))["disco_info"]
    assert ("gateway", "loopback") in {(category, kind) for category, kind, _lang, _name in info["identities"]}
    assert {"urn:xmpp:ping", "jabber:iq:version", "urn:xmpp:receipts",
            "http://jabber.org/protocol/disco#info", "http://jabber.org/protocol/disco#items"} <= set(info["features"])


async def test_disco_items_is_answered(gateway: Gateway, alice: TestClient) -> None:
    items = await alice.plugin["xep_0030"].get_items(jid=LOOPBACK, timeout=5)
    assert items["type"] == "result"


async def test_ping_and_version(gateway: Gateway, alice: TestClient) -> None:
    rtt = await alice.plugin["xep_0199"].ping(jid=LOOPBACK, timeout=5)
    assert rtt >= 0
    version = await alice.plugin["xep_0092"].get_version(LOOPBACK, timeout=5)
    assert version["software_version"]["name"] == "xmpp-gateway"
    assert version["software_version"]["version"]


@pytest.mark.parametrize("iq_type", ["get", "set"])
@pytest.mark.parametrize("to", [LOOPBACK, f"echo@{LOOPBACK}"])
async def test_unknown_iq_gets_service_unavailable(gateway: Gateway, alice: TestClient, iq_type: str,
                                                   to: str) -> None:
    with pytest.raises(IqError) as raised:
        await alice.iq(to, ET.Element("{urn:example:nothing}query"), type=iq_type)  # type: ignore[arg-type]
    error = raised.value.iq["error"]
    assert error["condition"] == "service-unavailable"
    assert error["type"] == "cancel"


async def test_chat_message_to_the_component_gets_help(gateway: Gateway, alice: TestClient) -> None:
    alice.send_message(mto=LOOPBACK, mbody="help", mtype="chat")
    reply = await alice.next_message(predicate=lambda m: str(m["from"]) == LOOPBACK)
    assert reply["type"] == "chat"
    assert "anything@this-domain" in reply["body"]


async def test_message_to_an_invalid_address_gets_an_error_with_text(gateway: Gateway,
                                                                    alice: TestClient) -> None:
    # "\20" is an escaped space (XEP-0106): a valid JID whose local part is no loopback address.
    message = alice.make_message(mto=f"\\20@{LOOPBACK}", mbody="to nobody", mtype="chat")
    message["id"] = "bad-1"
    message.send()
    error = await alice.next_message(predicate=lambda m: m["id"] == "bad-1")
    assert error["type"] == "error"
    assert error["error"]["condition"] == "jid-malformed"
    assert "echo@" in error["error"]["text"]
    assert gateway.store is not None
    assert await gateway.store.journal.count() == 0


async def test_metrics_count_an_echo_both_ways(gateway: Gateway, alice: TestClient) -> None:
    alice.send_message(mto=f"echo@{LOOPBACK}", mbody="count me", mtype="chat")
    await alice.next_message(predicate=lambda m: m["body"] == "count me")
    url = f"http://{gateway.config.http.listen}/metrics"
    status, body = await asyncio.to_thread(http_get, url)
    assert status == 200
    text = body.decode()
    assert 'xmpp_gateway_messages_total{direction="out",transport="loopback"} 1.0' in text
    assert 'xmpp_gateway_messages_total{direction="in",transport="loopback"} 1.0' in text
    assert f'xmpp_gateway_component_connected{{component="{LOOPBACK}"}} 1.0' in text


async def test_metrics_show_how_long_the_event_loop_was_stalled(gateway: Gateway) -> None:
    base = f"http://{gateway.config.http.listen}"
    lag = "xmpp_gateway_event_loop_lag_seconds"

    async def stalls() -> float:  # probes that ran more than 250 ms late
        return await metric(base, lag + "_count") - await metric(base, lag + "_bucket", le="0.25")

    await wait_until(lambda: metric(base, lag + "_count"))  # the probe runs
    before = await stalls()

    async def stalled() -> bool:
        return await stalls() > before

    time.sleep(0.4)  # what a blocking call in any handler would do to every user of the gateway
    await wait_until(stalled)
