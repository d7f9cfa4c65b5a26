"""Stanza ids a component makes (GatewayComponent.new_id): unique, and the ones slixmpp's stanzas get."""

from __future__ import annotations

from gateway.app import Gateway


async def test_every_id_made_is_new_and_slixmpp_stanzas_take_them(gateway: Gateway) -> None:
    component = next(iter(gateway.components.values()))
    ids = [component.new_id() for _ in range(10_000)]
    assert len(set(ids)) == len(ids)
    prefix = ids[0].rsplit("-", 1)[0]
    assert all(i.startswith(prefix + "-") for i in ids)
    made = [component.make_iq_get(ito=component.server_domain)["id"],
            component.make_message(mto="alice@localhost", mbody="hi")["id"]]
    assert all(i.startswith(prefix + "-") and i not in ids for i in made) and made[0] != made[1]
