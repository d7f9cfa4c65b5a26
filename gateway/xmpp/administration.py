"""Installs administration and onboarding on one component: ad-hoc commands, the same commands as chat text,
in-band registration and mapped contacts in rosters."""

from __future__ import annotations

import logging
from dataclasses import replace

from gateway.commands.command import Command
from gateway.commands.command_set import CommandSet
from gateway.core.policy import AccessControl
from gateway.core.tasks import TaskSet
from gateway.store.store import Store
from gateway.transports.descriptor import TransportDescriptor
from gateway.xmpp.adhoc import AdhocCommands
from gateway.xmpp.admin_commands import ADDRESS, ADMIN_COMMANDS
from gateway.xmpp.chat import ChatCommands
from gateway.xmpp.component import GatewayComponent
from gateway.xmpp.redaction import redact_stanza_logs
from gateway.xmpp.registration import Registration
from gateway.xmpp.roster import RosterSync
from gateway.xmpp.user_commands import USER_COMMANDS

log = logging.getLogger(__name__)


def commands_for(descriptor: TransportDescriptor) -> tuple[Command, ...]:
    """User commands, then admin commands, then the transport's own; the address field says what an address is
    on this transport."""
    shared = USER_COMMANDS + ADMIN_COMMANDS
    addresses = descriptor.contact_addresses()
    if addresses is not None:
        address = replace(ADDRESS, label=f"Address ({addresses.description})")
        shared = tuple(replace(c, fields=tuple(address if f is ADDRESS else f for f in c.fields)) for c in shared)
    return shared + descriptor.commands()


class Administration:
    def __init__(self, xmpp: GatewayComponent, store: Store, access: AccessControl,
                 descriptor: TransportDescriptor) -> None:
        self.xmpp = xmpp
        transport = xmpp.adapter
        self.roster = RosterSync(xmpp, store, transport.name)
        commands = commands_for(descriptor)
        redact_stanza_logs(commands)
        self.commands = CommandSet(commands, access, transport, store, self)
        self.adhoc = AdhocCommands(xmpp, self.commands)
        self.chat = ChatCommands(self.commands)
        self.registration = Registration(xmpp, store, access, transport, descriptor, self.registered,
                                         self.unregistered)
        self._leaving = TaskSet(log)  # closing what leaving users had open; stop() waits for it

    async def stop(self) -> None:
        await self._leaving.wait()
        await self.roster.stop()

    # -- Notifier -------------------------------------------------------------------------------------------
    def contacts_changed(self) -> None:
        self.roster.poke()

    def registered(self, jid: str) -> None:
        """XEP-0100: the gateway asks to be in the new user's roster."""
        self.xmpp.send_presence(pfrom=self.xmpp.boundjid.bare, pto=jid, ptype="subscribe")
        self.roster.poke()

    def unregistered(self, jid: str) -> None:
        """XEP-0100: the gateway leaves the user's roster; their mapped contacts go with the next comparison."""
        own = self.xmpp.boundjid.bare
        for ptype in ("unavailable", "unsubscribe", "unsubscribed"):
            self.xmpp.send_presence(pfrom=own, pto=jid, ptype=ptype)
        self.xmpp.forget_user(jid)
        self.roster.poke()
        self._leaving.spawn(self.xmpp.adapter.user_left(jid), name=f"{self.xmpp.domain}: closing what {jid} had open")
