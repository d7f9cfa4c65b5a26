"""XEP-0356 grants in both namespaces: ejabberd 23.01 speaks v0.3 (`urn:xmpp:privilege:1`), later ejabberd and
Prosody v0.4 (`:2`). The e2e tests see whichever the installed server speaks; these see both on every machine."""

from __future__ import annotations

import pytest
from slixmpp import ComponentXMPP, Message
from slixmpp.plugins.xep_0356.permissions import MessagePermission, RosterAccess
from slixmpp.xmlstream import ET

from gateway.xmpp.privilege import NS_V1, NS_V2, Grants


def advertisement(xmpp: ComponentXMPP, sender: str, ns: str, roster: str = "both") -> Message:
    xml = ET.fromstring(f"<message xmlns='jabber:component:accept' from='{sender}' to='sms.localhost'>"
                        f"<privilege xmlns='{ns}'><perm access='roster' type='{roster}'/>"
                        f"<perm access='message' type='outgoing'/></privilege></message>")
    return Message(xmpp, xml=xml)


@pytest.fixture
def grants() -> Grants:
    return Grants(ComponentXMPP("sms.localhost", "secret", "127.0.0.1", 5347))


@pytest.mark.parametrize("ns", [NS_V1, NS_V2])
def test_a_grant_in_either_namespace_lets_the_roster_calls_through(grants: Grants, ns: str) -> None:
    grants._on_advertisement(advertisement(grants.xmpp, "localhost", ns))
    assert grants.pushes("localhost")
    assert grants.by_server["localhost"].namespace == ns
    # What slixmpp's privileged roster get/set check before they send anything.
    permissions = grants.plugin.granted_privileges["localhost"]
    assert permissions.roster == RosterAccess.BOTH and permissions.message == MessagePermission.OUTGOING


def test_only_the_server_itself_grants(grants: Grants) -> None:
    grants._on_advertisement(advertisement(grants.xmpp, "mallory@localhost", NS_V2))
    assert not grants.pushes("localhost") and "localhost" not in grants.by_server


def test_a_read_only_grant_does_not_push_and_says_why(grants: Grants) -> None:
    grants._on_advertisement(advertisement(grants.xmpp, "localhost", NS_V1, roster="get"))
    assert not grants.pushes("localhost")
    assert grants.why_not("localhost") == "localhost granted roster get only, pushes need both"


def test_a_server_that_fails_the_sets_it_granted_is_not_pushed_to_again(grants: Grants) -> None:
    grants._on_advertisement(advertisement(grants.xmpp, "localhost", NS_V1))
    grants.sets_fail("localhost", "internal-server-error")
    assert not grants.pushes("localhost")
    assert "failed a privileged roster set: internal-server-error" in grants.why_not("localhost")
    assert "processone/ejabberd#3942" in grants.why_not("localhost")
    grants.xmpp.event("disconnected")  # the next stream's advertisement decides again
    grants._on_advertisement(advertisement(grants.xmpp, "localhost", NS_V1))
    assert grants.pushes("localhost")
