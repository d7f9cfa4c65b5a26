"""What both XMPP launchers (Prosody, ejabberd) must give alike: c2s messages, components, secrets checked."""

from __future__ import annotations

import pytest
from slixmpp import JID

from gateway.devstack.prosody import XmppServer
from tests.devstack.conftest import component_spec, new_user
from tests.support.xmpp_client import TestClient, TestComponent


@pytest.mark.asyncio
async def test_message_between_two_users(xmpp_server: XmppServer) -> None:
    (alice_jid, alice_pw), (bob_jid, bob_pw) = new_user(xmpp_server), new_user(xmpp_server)
    alice, bob = TestClient(alice_jid, alice_pw), TestClient(bob_jid, bob_pw)
    await alice.start("127.0.0.1", xmpp_server.c2s_port)
    await bob.start("127.0.0.1", xmpp_server.c2s_port)
    try:
        alice.send_message(mto=JID(bob_jid), mbody="hello bob", mtype="chat")
        msg = await bob.next_message(predicate=lambda m: bool(m["body"]))
        assert msg["body"] == "hello bob"
        assert msg["from"].bare == alice_jid
    finally:
        await alice.stop()
        await bob.stop()


@pytest.mark.asyncio
async def test_component_connects_and_receives(xmpp_server: XmppServer) -> None:
    irc = component_spec(xmpp_server, "irc.")
    irc_component = TestComponent(irc.domain, irc.secret)
    await irc_component.start("127.0.0.1", xmpp_server.component_port)
    jid, password = new_user(xmpp_server)
    client = TestClient(jid, password)
    await client.start("127.0.0.1", xmpp_server.c2s_port)
    try:
        # disco#info on the component, routed by the server over the component stream
        info = await client.plugin["xep_0030"].get_info(jid=JID(irc.domain), timeout=5)
        assert "http://jabber.org/protocol/disco#info" in info["disco_info"]["features"]
        client.send_message(mto=JID(f"alice%libera@{irc.domain}"), mbody="hi", mtype="chat")
        msg = await irc_component.next_message(predicate=lambda m: m["body"] == "hi")
        assert msg["from"].bare == jid
    finally:
        await client.stop()
        await irc_component.stop()


@pytest.mark.asyncio
async def test_component_with_wrong_secret_is_refused(xmpp_server: XmppServer) -> None:
    wrong = TestComponent(component_spec(xmpp_server, "irc.").domain, "not-the-secret")
    with pytest.raises(ConnectionError):
        await wrong.start("127.0.0.1", xmpp_server.component_port, timeout=5)
