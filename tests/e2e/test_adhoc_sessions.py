"""A command session belongs to whoever opened it: nobody else can continue it, whatever ids they learn."""

from __future__ import annotations

import pytest
from slixmpp import JID
from slixmpp.exceptions import IqError

from gateway.devstack.prosody import ProsodyServer
from tests.e2e.test_adhoc_support import (  # noqa: F401 (the fixtures)
    Gateways,
    People,
    gateways_fixture,
    loopback_table,
    people_fixture,
    server_fixture,
)
from tests.support.stack import LOOPBACK


async def test_another_user_cannot_complete_an_admins_session(server: ProsodyServer, gateways: Gateways,
                                                              people: People) -> None:
    gateway = await gateways(server, loopback=loopback_table(access="open"))
    boss, mallory = await people(server, "boss"), await people(server, "mallory")
    opened = await boss.plugin["xep_0050"].send_command(JID(LOOPBACK), "admin/users/add", action="execute",
                                                        timeout=5)
    form = mallory.plugin["xep_0004"].make_form(ftype="submit")
    form.add_field(var="jid", value="mallory@localhost")
    form.add_field(var="admin", value=True, ftype="boolean")

    with pytest.raises(IqError) as refused:
        await mallory.plugin["xep_0050"].send_command(JID(LOOPBACK), "admin/users/add", action="complete",
                                                      sessionid=opened["command"]["sessionid"], payload=form,
                                                      timeout=5)
    assert refused.value.iq["error"]["condition"] == "forbidden"
    assert gateway.store is not None
    assert await gateway.store.users.get_user("mallory@localhost") is None
