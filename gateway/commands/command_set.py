"""The commands one component offers, with the access check every call goes through: admin commands only for
admins (config admins and users with the admin flag), user commands for whoever the transport's access policy lets
in."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from gateway.commands.command import Access, Command, Context, Forbidden, Notifier, Result
from gateway.core.events import Refusal
from gateway.core.policy import AccessControl
from gateway.store.store import Store
from gateway.transports.base import Transport


@dataclass
class CommandSet:
    """The commands one component offers, with the access check every call goes through."""

    commands: Sequence[Command]
    access: AccessControl
    transport: Transport[Any]
    store: Store
    notify: Notifier
    _by_node: dict[str, Command] = field(init=False)

    def __post_init__(self) -> None:
        self._by_node = {c.node: c for c in self.commands}

    def by_node(self, node: str) -> Command | None:
        return self._by_node.get(node)

    def by_word(self, word: str) -> Command | None:
        word = word.lower()
        return next((c for c in self.commands if word in c.words), None)

    async def visible(self, jid: str) -> list[Command]:
        """The commands `jid` may see: admin ones only for admins."""
        is_admin = await self.access.is_admin(jid)
        return [c for c in self.commands if is_admin or c.access is Access.USER]

    async def authorize(self, jid: str, command: Command) -> Context:
        """A context to run `command` as `jid`; Forbidden if they may not. Called for every execution step."""
        is_admin = await self.access.is_admin(jid)
        if command.access is Access.ADMIN and not is_admin:
            raise Forbidden(f"{command.name}: only admins of this gateway may run this command.")
        if command.access is Access.USER and not is_admin:
            try:
                await self.access.check(jid, self.transport.name)
            except Refusal as refusal:
                raise Forbidden(refusal.text) from None
        if command.needs_user and await self.store.users.get_user(jid) is None:
            raise Forbidden(f"{jid} is not registered with this gateway. Register first (in-band registration, "
                            "XEP-0077, from your client's service discovery) or ask an admin to add you.")
        return Context(self.store, self.transport, jid, is_admin, self.notify, self.access.transports,
                       self.access.forget, self.access.config_admins)

    async def run(self, jid: str, command: Command, raw: Mapping[str, Any]) -> Result:
        """Authorize, check the values and run the handler."""
        context = await self.authorize(jid, command)
        return await command.handler(context, command.values(raw))
