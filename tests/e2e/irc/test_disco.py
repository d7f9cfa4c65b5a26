"""Service discovery of IRC rooms: disco#items on network@irc.localhost lists the network's channels (IRC LIST),
paged with XEP-0059; disco#info on a room JID answers as a XEP-0045 room."""

from __future__ import annotations

from typing import Any

from gateway.app import Gateway
from gateway.devstack.ngircd import RawIrcClient
from tests.e2e.irc.conftest import IRC, NETWORK, room_jid
from tests.support.xmpp_client import TestClient

NETWORK_JID = f"{NETWORK}@{IRC}"
ITEMS = "{http://jabber.org/protocol/disco#items}"


def items_of(iq: Any) -> list[tuple[str, str]]:
    """(jid, name) of each item, in the order the service gave them (slixmpp's ['items'] is a set)."""
    return [(item.get("jid", ""), item.get("name", "")) for item in iq.xml.iter(f"{ITEMS}item")]


async def items_page(client: TestClient, limit: int, after: str | None = None) -> Any:
    iq = client.make_iq_get(ito=NETWORK_JID)
    iq.enable("disco_items")
    iq["disco_items"]["rsm"]["max"] = str(limit)
    if after is not None:
        iq["disco_items"]["rsm"]["after"] = after
    return await iq.send(timeout=15)


async def test_network_items_list_its_channels_paged(gateway: Gateway, alice: TestClient, bob: RawIrcClient) -> None:
    alice.register_plugin("xep_0059")
    for name in ("#delta", "#alpha", "#charlie", "#bravo"):
        await bob.join(name)
    await bob.send("TOPIC #alpha :first of all")
    await bob.expect_command("TOPIC")

    first = await items_page(alice, 3)
    rsm = first["disco_items"]["rsm"]
    listed = items_of(first)
    assert [jid for jid, _ in listed] == [str(room_jid(name)) for name in ("#alpha", "#bravo", "#charlie")]
    assert "#alpha" in listed[0][1] and "first of all" in listed[0][1]
    total = int(rsm["count"])  # ngircd has channels of its own (&SERVER) besides ours
    assert total >= 4

    every = list(listed)
    last = rsm["last"]
    while len(every) < total:
        page = await items_page(alice, 3, after=last)
        assert int(page["disco_items"]["rsm"]["count"]) == total
        assert 0 < len(items_of(page)) <= 3
        every += items_of(page)
        last = page["disco_items"]["rsm"]["last"]
    jids = [jid for jid, _ in every]
    assert str(room_jid("#delta")) == jids[3]
    assert len(set(jids)) == len(jids) == total  # no room twice, none left out


async def test_room_info_is_a_muc_room(gateway: Gateway, alice: TestClient) -> None:
    info = await alice.plugin["xep_0030"].get_info(jid=room_jid("#any"), timeout=10)
    identities = {(category, kind) for category, kind, *_ in info["disco_info"]["identities"]}
    assert ("conference", "text") in identities
    assert "http://jabber.org/protocol/muc" in info["disco_info"]["features"]
    assert "urn:xmpp:sid:0" in info["disco_info"]["features"]  # its messages' stanza-ids can be trusted
    service = await alice.plugin["xep_0030"].get_info(jid=IRC, timeout=10)
    assert ("gateway", "irc") in {(c, k) for c, k, *_ in service["disco_info"]["identities"]}
