"""XEP-0100 section 6.3 (jabber:iq:gateway): turn what a person types into a contact's JID.

slixmpp's xep_0100 plugin leaves this protocol out, so the stanza is declared here.
"""

from __future__ import annotations

from slixmpp.xmlstream import ElementBase

NAMESPACE = "jabber:iq:gateway"


class GatewayQuery(ElementBase):
    name = "query"
    namespace = NAMESPACE
    plugin_attrib = "gateway"
    interfaces = {"desc", "prompt", "jid"}
    sub_interfaces = interfaces
