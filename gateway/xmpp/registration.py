"""XEP-0077 in-band registration with a component (XEP-0100 style), judged by the transport's access policy.

Registration makes the sender a member of this transport only:
- closed: only users an admin added for this transport (and admins) may register (for members it confirms);
- allowlist: JIDs matching the transport's patterns become members;
- open: anyone does.
Config admins always may. Registration asks only for the optional fields the transport's descriptor declares
and adds its note to the instructions; it never binds an address (only admins do). Unregistering deletes the
user's data on this transport, journal included, and the user with their last transport.

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

from gateway.core.events import ErrorCondition, Refusal
from gateway.core.policy import AccessControl
from gateway.store.store import Store
from gateway.store.users import UserNotFound
from gateway.transports.base import AddressError, Transport
from gateway.transports.descriptor import TransportDescriptor
from gateway.xmpp.bounce import answer_error

log = logging.getLogger(__name__)

REGISTER_NS = "jabber:iq:register"


class Registration:
    def __init__(self, xmpp: ComponentXMPP, store: Store, access: AccessControl, transport: Transport[Any],
                 descriptor: TransportDescriptor, on_registered: Callable[[str], None],
                 on_unregistered: Callable[[str], None]) -> None:
        self.xmpp = xmpp
        self.store = store
        self.access = access
        self.transport = transport
        self._on_registered = on_registered
        self._on_unregistered = on_unregistered
        self.fields = descriptor.registration_fields()
        self.note = descriptor.registration_note
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
        extra = f" {self.note}" if self.note else ""
        asked = ("All fields are optional." if self.fields else "No fields to fill in.")
        return f"Register to use {self.transport.settings.jid}. {policy}{extra} {asked}"

    async def _on_iq(self, iq: StanzaBase) -> None:
        assert isinstance(iq, Iq)
        if iq["type"] == "get":
            await self._form(iq)
        elif iq["type"] == "set":
            if iq["register"]["remove"]:
                await self._unregister(iq)
            else:
                await self._register(iq)

    async def _member(self, jid: str) -> bool:
        record = await self.store.users.get_user(jid)
        return record is not None and self.transport.name in record.transports

    async def _form(self, iq: Iq) -> None:
        jid = str(iq["from"].bare)
        reply = iq.reply()
        query = reply["register"]
        member = await self._member(jid)
        if member:
            query["registered"] = True
        query["instructions"] = self.instructions()
        current = await self.store.users.nick(jid, self.transport.name) if member and self.fields else None
        form = self.xmpp.plugin["xep_0004"].make_form(ftype="form", title=f"Registration with {self.xmpp.boundjid}",
                                                      instructions=self.instructions())
        form.add_field(var="FORM_TYPE", ftype="hidden", value=REGISTER_NS)
        for spec in self.fields:
            # The legacy field too, for clients without data forms (an empty one must stay: add_field keeps it).
            if current:
                query[spec.var] = current
            else:
                query.add_field(spec.var)
            form.add_field(var=spec.var, ftype="text-single", label=spec.label, required=False, value=current or "")
        query.append(form)
        reply.send()

    def _values(self, iq: Iq) -> dict[str, str | None]:
        """The fields as submitted (data form first, else legacy elements), checked; ValueError with the reason."""
        has_form = iq["register"].xml.find("{jabber:x:data}x") is not None
        submitted = iq["register"]["form"].get_values() if has_form else {}
        values: dict[str, str | None] = {}
        for spec in self.fields:
            raw = submitted.get(spec.var, iq["register"][spec.var])
            if isinstance(raw, list):
                raw = raw[0] if raw else ""
            text = str(raw or "").strip()
            try:
                values[spec.var] = spec.check(text) if text else None
            except AddressError as error:
                raise ValueError(f"{spec.var}: {error.text}") from None
        return values

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
        try:
            values = self._values(iq)
        except ValueError as error:
            _error(iq, "not-acceptable", str(error))
            return
        if await self.store.users.join(jid, self.transport.name, nick=values.get("nick"), create=True):
            log.info("%s registered with %s", jid, self.xmpp.boundjid.bare)
        self.access.forget(jid)
        iq.reply().send()
        self._on_registered(jid)

    async def _unregister(self, iq: Iq) -> None:
        jid = str(iq["from"].bare)
        try:
            gone = await self.store.users.leave(jid, self.transport.name)
        except UserNotFound:
            _error(iq, "item-not-found", f"{jid} is not registered with this gateway.")
            return
        self.access.forget(jid)
        log.info("%s unregistered from %s (their data there is deleted%s)", jid, self.xmpp.boundjid.bare,
                 "; no transport left, so the user is deleted" if gone else "")
        iq.reply().send()
        self._on_unregistered(jid)


def _error(iq: Iq, condition: ErrorCondition, text: str) -> None:
    """XEP-0077's errors are all of type cancel but a form to fix (modify); the form is not echoed back (it may
    hold a password)."""
    answer_error(iq.stream, iq, condition, text, "modify" if condition == "not-acceptable" else "cancel")
