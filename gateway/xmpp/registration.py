"""XEP-0077 in-band registration with a component (XEP-0100 style), judged by the transport's access policy.

- closed: only users an admin added may register (for them it is a no-op that confirms);
- allowlist: JIDs matching the transport's patterns are added as users;
- open: anyone is added.
Config admins always may. Registration asks for nothing a transport does not need: it never binds an SMS
number (only admins do). Unregistering deletes the user with all their data, journal included.

slixmpp's xep_0077 plugin keeps users in memory and answers every refusal with not-acceptable, so only its
stanza classes are used here, with a handler of our own.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slixmpp import JID, ComponentXMPP, Iq
from slixmpp.plugins.xep_0004 import Form
from slixmpp.plugins.xep_0077.stanza import Register
from slixmpp.xmlstream import StanzaBase, register_stanza_plugin
from slixmpp.xmlstream.handler import CoroutineCallback
from slixmpp.xmlstream.matcher import StanzaPath

from gateway.core.events import Refusal
from gateway.core.policy import AccessControl
from gateway.store.store import Store
from gateway.store.users import UserExists, UserNotFound
from gateway.transports.base import Transport

log = logging.getLogger(__name__)

REGISTER_NS = "jabber:iq:register"


class Registration:
    def __init__(self, xmpp: ComponentXMPP, store: Store, access: AccessControl, transport: Transport[Any],
                 on_registered: Callable[[str], None], on_unregistered: Callable[[str], None]) -> None:
        self.xmpp = xmpp
        self.store = store
        self.access = access
        self.transport = transport
        self._on_registered = on_registered
        self._on_unregistered = on_unregistered
        xmpp.register_plugin("xep_0004")
        register_stanza_plugin(Iq, Register)
        register_stanza_plugin(Register, Form)
        xmpp.plugin["xep_0030"].add_feature(REGISTER_NS, jid=JID(xmpp.boundjid.bare))
        xmpp.register_handler(CoroutineCallback("gateway registration", StanzaPath("iq/register"), self._on_iq))

    def instructions(self) -> str:
        mode = self.transport.settings.access
        policy = {"closed": "Only people an admin added may register here.",
                  "allowlist": "Registration is open to the addresses the admins allowed.",
                  "open": "Anyone may register."}[mode]
        extra = " Phone numbers are bound by an admin, not by registering." if self.transport.name == "sms" else ""
        return f"Register to use {self.transport.settings.jid}. {policy}{extra} No fields to fill in."

    async def _on_iq(self, iq: StanzaBase) -> None:
        assert isinstance(iq, Iq)
        if iq["type"] == "get":
            await self._form(iq)
        elif iq["type"] == "set":
            if iq["register"]["remove"]:
                await self._unregister(iq)
            else:
                await self._register(iq)

    async def _form(self, iq: Iq) -> None:
        jid = str(iq["from"].bare)
        reply = iq.reply()
        query = reply["register"]
        if await self.store.users.get_user(jid) is not None:
            query["registered"] = True
        query["instructions"] = self.instructions()
        form = self.xmpp.plugin["xep_0004"].make_form(ftype="form", title=f"Registration with {self.xmpp.boundjid}",
                                                      instructions=self.instructions())
        form.add_field(var="FORM_TYPE", ftype="hidden", value=REGISTER_NS)
        query.append(form)
        reply.send()

    async def _register(self, iq: Iq) -> None:
        jid = str(iq["from"].bare)
        try:
            await self.access.check(jid, self.transport.name)
        except Refusal as refusal:
            # XEP-0077: a host that does not let this entity register answers not-allowed.
            condition = "not-allowed" if refusal.condition == "registration-required" else refusal.condition
            text = ("This gateway is closed: only people an admin added may register. Ask an admin to add you."
                    if refusal.condition == "registration-required" else refusal.text)
            _error(iq, condition, text)
            return
        if await self.store.users.get_user(jid) is None:
            try:
                await self.store.users.add(jid)
                log.info("%s registered with %s", jid, self.xmpp.boundjid.bare)
            except UserExists:
                pass  # registered twice at once
        iq.reply().send()
        self._on_registered(jid)

    async def _unregister(self, iq: Iq) -> None:
        jid = str(iq["from"].bare)
        try:
            await self.store.users.remove(jid)
        except UserNotFound:
            _error(iq, "item-not-found", f"{jid} is not registered with this gateway.")
            return
        log.info("%s unregistered from %s (their data is deleted)", jid, self.xmpp.boundjid.bare)
        iq.reply().send()
        self._on_unregistered(jid)


def _error(iq: Iq, condition: str, text: str) -> None:
    reply = iq.reply(clear=False)
    reply["type"] = "error"
    reply["error"]["type"] = "cancel" if condition != "not-acceptable" else "modify"
    reply["error"]["condition"] = condition
    reply["error"]["text"] = text
    reply.send()
