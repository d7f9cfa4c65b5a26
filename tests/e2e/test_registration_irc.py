"""XEP-0077 with the IRC component (XEP-0100 fields): an optional default nick, stored for the user and used on
every network without a nick of its own; real Prosody, ngircd and slixmpp clients."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
from slixmpp.exceptions import IqError

from gateway.app import Gateway
from gateway.devstack.ngircd import NgircdServer, RawIrcClient
from gateway.devstack.prosody import ComponentSpec, ProsodyServer, prosody_available
from tests.e2e.irc.conftest import IRC, IRC_SECRET, NETWORK, irc_config, muc_client
from tests.e2e.irc.conftest import bob as bob  # the fixture
from tests.e2e.irc.conftest import irc_clients as irc_clients  # the fixture
from tests.e2e.irc.support import Presences
from tests.e2e.irc.test_rooms import MUC_USER, codes, join
from tests.support.stack import start_gateway
from tests.support.xmpp_client import TestClient

NS = "jabber:iq:register"
DATA = "jabber:x:data"


@pytest.fixture
def irc_prosody(tmp_path: Path) -> Iterator[ProsodyServer]:
    if not prosody_available():
        pytest.skip("prosody is not installed")
    with ProsodyServer(tmp_path / "prosody", components=[ComponentSpec(IRC, IRC_SECRET)]) as server:
        yield server


@pytest.fixture
async def irc_gateway(irc_prosody: ProsodyServer, ngircd: NgircdServer, tmp_path: Path, sqlite_url: str
                      ) -> AsyncIterator[Gateway]:
    running = await start_gateway(irc_config(irc_prosody, ngircd, sqlite_url), tmp_path)
    yield running
    await running.stop()


@pytest.fixture
async def alice(irc_prosody: ProsodyServer) -> AsyncIterator[TestClient]:
    client = await muc_client(irc_prosody, "alice")
    yield client
    await client.stop()


async def form(client: TestClient) -> ET.Element:
    reply = await client.iq(IRC, ET.Element(f"{{{NS}}}query"), type="get")
    query = reply.xml.find(f"{{{NS}}}query")
    assert query is not None
    return query


def fields(query: ET.Element) -> dict[str, str]:
    return {f.get("var") or "": f.findtext(f"{{{DATA}}}value") or ""
            for f in query.findall(f"{{{DATA}}}x/{{{DATA}}}field")}


async def submit(client: TestClient, nick: str) -> None:
    query = ET.Element(f"{{{NS}}}query")
    x = ET.SubElement(query, f"{{{DATA}}}x", type="submit")
    for var, value in (("FORM_TYPE", NS), ("nick", nick)):
        field = ET.SubElement(x, f"{{{DATA}}}field", var=var)
        ET.SubElement(field, f"{{{DATA}}}value").text = value
    await client.iq(IRC, query, type="set")


async def test_irc_registration_offers_a_default_nick_used_on_every_network(
        irc_gateway: Gateway, alice: TestClient) -> None:
    store = irc_gateway.store
    assert store is not None
    query = await form(alice)
    assert fields(query) == {"FORM_TYPE": NS, "nick": ""}
    assert query.find(f"{{{NS}}}nick") is not None, "the legacy field too, for clients without data forms"
    assert "optional" in (query.findtext(f"{{{NS}}}instructions") or "")

    with pytest.raises(IqError) as raised:
        await submit(alice, "9lives")
    assert raised.value.iq["error"]["condition"] == "not-acceptable"
    assert "must not start with a digit" in raised.value.iq["error"]["text"]
    assert raised.value.iq.xml.find(f"{{{NS}}}query") is None, "the form is not echoed back"
    assert await store.users.get_user("alice@localhost") is None

    await submit(alice, "alice_reg")
    assert await store.users.nick("alice@localhost", "irc") == "alice_reg"
    query = await form(alice)
    assert query.find(f"{{{NS}}}registered") is not None and fields(query)["nick"] == "alice_reg"

    await join(alice, "#welcome", "whatever")  # the room nick of the join is only the fallback
    connection = irc_gateway.transports["irc"].sessions.get("alice@localhost", NETWORK)  # type: ignore[attr-defined]
    assert connection is not None and connection.nick == "alice_reg"

    # A nick set for one network wins there (from the next connection).
    await store.irc.set_account("alice@localhost", NETWORK, nick="alice_net", transport="irc")
    transport = irc_gateway.transports["irc"]
    network = await transport.accounts.network(NETWORK)  # type: ignore[attr-defined]
    assert (await transport.identity_for("alice@localhost", network)).nick == "alice_net"  # type: ignore[attr-defined]
    await store.irc.set_account("alice@localhost", NETWORK, nick=None, transport="irc")
    assert (await transport.identity_for("alice@localhost", network)).nick == "alice_reg"  # type: ignore[attr-defined]


async def test_legacy_nick_field_without_a_form(irc_gateway: Gateway, alice: TestClient) -> None:
    assert irc_gateway.store is not None
    query = ET.Element(f"{{{NS}}}query")
    ET.SubElement(query, f"{{{NS}}}nick").text = "legacy"
    await alice.iq(IRC, query, type="set")
    assert await irc_gateway.store.users.nick("alice@localhost", "irc") == "legacy"


async def test_unregistering_closes_the_users_irc_connections(irc_gateway: Gateway, alice: TestClient,
                                                              bob: RawIrcClient) -> None:
    await submit(alice, "alice")
    await bob.join("#bye")
    await join(alice, "#bye", "alice")
    await bob.expect(lambda line: line.command == "JOIN" and line.nick == "alice", timeout=10)
    presences = Presences(alice)

    query = ET.Element(f"{{{NS}}}query")
    ET.SubElement(query, f"{{{NS}}}remove")
    await alice.iq(IRC, query, type="set")

    quit_line = await bob.expect(lambda line: line.command == "QUIT" and line.nick == "alice", timeout=10)
    assert "left the gateway" in quit_line.params[-1].lower()
    left = await presences.next(lambda p: p["type"] == "unavailable"
                                and str(p["from"]) == f"#bye%{NETWORK}@{IRC}/alice")
    assert {"110", "333"} <= codes(left)
    assert "You left the IRC gateway" in (left.xml.findtext(f"{MUC_USER}x/{MUC_USER}item/{MUC_USER}reason") or "")
    assert irc_gateway.transports["irc"].sessions.get("alice@localhost", NETWORK) is None  # type: ignore[attr-defined]
