"""XEP-0356 grants in either namespace: v0.3 `urn:xmpp:privilege:1` (ejabberd 23.01) and v0.4+ `urn:xmpp:privilege:2`
(Prosody's mod_privilege).

slixmpp's xep_0356 plugin reads only :2, so on ejabberd a component never learnt it had been granted anything. Both
versions advertise the same way (a message from the server holding <privilege><perm access= type=/></privilege>) with
the same forms for roster (none/get/set/both), message (none/outgoing) and presence (none/managed_entity/roster); v0.4
adds `iq` perms with <namespace/> children. The roster IQs themselves carry no privilege namespace, so once a grant is
recorded in the plugin, its get_roster/set_roster work on both servers. Privileged messages and IQs (which are wrapped
in the namespace) are not used by the gateway and stay :2 only.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from slixmpp import ComponentXMPP
from slixmpp.plugins.xep_0356.permissions import MessagePermission, Permissions, PresencePermission, RosterAccess
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

log = logging.getLogger(__name__)

NS_V1 = "urn:xmpp:privilege:1"  # XEP-0356 v0.3
NS_V2 = "urn:xmpp:privilege:2"  # v0.4 and later
NAMESPACES = (NS_V2, NS_V1)
_FORMS: dict[str, type[StrEnum]] = {"roster": RosterAccess, "message": MessagePermission,
                                    "presence": PresencePermission}
_SLIXMPP_HANDLER = "Privileges"  # the plugin's own reader (:2 only), replaced by ours


@dataclass
class Grant:
    """What one server granted, in the namespace it spoke."""

    server: str
    namespace: str
    permissions: Permissions
    iq: dict[str, str] = field(default_factory=dict)  # v0.4 only: payload namespace -> get/set/both
    sets_fail: str | None = None  # why the server failed a privileged roster set it had granted


class Grants:
    """The privileges the server advertised to one component; kept in the xep_0356 plugin for its roster calls."""

    def __init__(self, xmpp: ComponentXMPP) -> None:
        self.xmpp = xmpp
        xmpp.register_plugin("xep_0356")
        self.plugin: Any = xmpp.plugin["xep_0356"]
        # The plugin keeps grants in a dict shared by every instance in the process: a component the server did
        # not privilege would believe it was. Each component gets its own.
        self.plugin.granted_privileges = defaultdict(Permissions)  # type: ignore[misc]
        self.by_server: dict[str, Grant] = {}
        xmpp.remove_handler(_SLIXMPP_HANDLER)  # one reader for both namespaces
        for ns in NAMESPACES:
            path = f"{{{xmpp.default_ns}}}message/{{{ns}}}privilege"
            xmpp.register_handler(Callback(f"XEP-0356 {ns}", MatchXPath(path), self._on_advertisement))
        xmpp.add_event_handler("disconnected", self._forget)

    def pushes(self, server: str) -> bool:
        """Whether roster items of `server`'s users can be read and set (what the gateway needs to push)."""
        grant = self.by_server.get(server)
        return grant is not None and grant.permissions.roster == RosterAccess.BOTH and grant.sets_fail is None

    def why_not(self, server: str) -> str:
        grant = self.by_server.get(server)
        if grant is None or grant.permissions.roster == RosterAccess.NONE:
            return f"{server} granted no roster access"
        if grant.permissions.roster != RosterAccess.BOTH:
            return f"{server} granted roster {grant.permissions.roster!s} only, pushes need both"
        return (f"{server} granted roster access ({grant.namespace}) but failed a privileged roster set: "
                f"{grant.sets_fail}; ejabberd before 23.10 does (processone/ejabberd#3942)")

    def sets_fail(self, server: str, reason: str) -> None:
        grant = self.by_server.get(server)
        if grant is not None:
            grant.sets_fail = reason

    def _forget(self, _event: Any) -> None:
        # A server advertises at every stream start; one restarted without the grant must not be trusted with it.
        self.by_server.clear()
        self.plugin.granted_privileges.clear()

    def _on_advertisement(self, msg: Any) -> None:
        sender = msg["from"]
        if sender.user or sender.resource:
            return  # only the server itself grants privileges
        server = str(sender.domain)
        for ns in NAMESPACES:
            element = msg.xml.find(f"{{{ns}}}privilege")
            if element is not None:
                grant = parse(server, ns, element)
                break
        else:
            return
        self.by_server[server] = grant  # a new advertisement replaces the last one
        self.plugin.granted_privileges[server] = grant.permissions
        log.debug("%s: %s granted %s", self.xmpp.boundjid.bare, server, grant)
        self.xmpp.event("privileges_advertised")


def parse(server: str, ns: str, element: Any) -> Grant:
    """The grant in a <privilege/> element of namespace `ns`; unknown accesses or types are logged and ignored."""
    grant = Grant(server, ns, Permissions())
    for perm in element.findall(f"{{{ns}}}perm"):
        access, kind = perm.get("access", ""), perm.get("type", "")
        form = _FORMS.get(access)
        if form is not None and kind in form._value2member_map_:
            setattr(grant.permissions, access, form(kind))
        elif access == "iq" and ns == NS_V2:
            for namespace in perm.findall(f"{{{ns}}}namespace"):
                grant.iq[namespace.get("ns", "")] = namespace.get("type", "none")
        else:
            log.warning("%s advertised a XEP-0356 permission we do not know: access=%r type=%r (%s)", server,
                        access, kind, ns)
    return grant
