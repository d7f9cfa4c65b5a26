"""XEP-0050 glue: a component's commands as ad-hoc commands with XEP-0004 data forms.

slixmpp's xep_0050 plugin runs the sessions; this module answers its `get_command` lookups and the disco#items
of the commands node itself, so that each requester sees only the commands they may run. Every step (the first
request and the form submission) goes through `CommandSet.authorize`.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from slixmpp import JID, ComponentXMPP, Iq
from slixmpp.exceptions import XMPPError
from slixmpp.plugins.xep_0030.stanza.info import DiscoInfo
from slixmpp.plugins.xep_0030.stanza.items import DiscoItems

from gateway.commands.command import Command, CommandError, Forbidden, Result
from gateway.commands.command_set import CommandSet
from gateway.xmpp.bounce import answer_error

log = logging.getLogger(__name__)

COMMANDS_NS = "http://jabber.org/protocol/commands"
DATA_FORMS_NS = "jabber:x:data"
SESSION_LIFETIME = 600.0  # a form nobody submitted is forgotten after this (slixmpp keeps sessions forever)

Session = dict[str, Any]


class AdhocCommands:
    def __init__(self, xmpp: ComponentXMPP, commands: CommandSet) -> None:
        self.xmpp = xmpp
        self.commands = commands
        xmpp.register_plugin("xep_0004")
        xmpp.register_plugin("xep_0050")
        own = JID(xmpp.boundjid.bare)
        xmpp.plugin["xep_0050"].api.register(self._get_command, "get_command")
        disco = xmpp.plugin["xep_0030"]
        disco.add_feature(COMMANDS_NS, jid=own)
        disco.api.register(self._items, "get_items", jid=own, node=COMMANDS_NS)
        for command in commands.commands:
            disco.api.register(self._info, "get_info", jid=own, node=command.node)
        xmpp.add_filter("in", self._own_sessions_only)

    def _own_sessions_only(self, stanza: Any) -> Any:
        """A later step of a command session must come from whoever opened it.

        slixmpp keeps the opener in the session but runs any step that names the session id, as the opener;
        someone who learned the id would act with the opener's rights. Such a step is refused here.
        """
        if not isinstance(stanza, Iq) or stanza["type"] != "set" or stanza.get_plugin("command", check=True) is None:
            return stanza
        session = self.xmpp.plugin["xep_0050"].sessions.get(stanza["command"]["sessionid"])
        if session is None or session["from"] == stanza["from"]:
            return stanza
        log.warning("%s tried to continue a command session of %s", stanza["from"], session["from"])
        answer_error(self.xmpp, stanza, "forbidden", "This command session belongs to someone else.", "cancel")
        return None

    # -- discovery --------------------------------------------------------------------------------------------
    async def _items(self, jid: JID | None, node: str | None, ifrom: JID | None, iq: Any) -> DiscoItems:
        items = DiscoItems()
        items["node"] = COMMANDS_NS
        for command in await self.commands.visible(_requester(ifrom)):
            items.add_item(JID(self.xmpp.boundjid.bare), command.node, command.name)
        return items

    async def _info(self, jid: JID | None, node: str | None, ifrom: JID | None, iq: Any) -> DiscoInfo:
        command = self.commands.by_node(node or "")
        if command is None or command not in await self.commands.visible(_requester(ifrom)):
            raise XMPPError("item-not-found")
        info = DiscoInfo()
        info["node"] = node
        info.add_identity("automation", "command-node", command.name)
        info.add_feature(COMMANDS_NS)
        info.add_feature(DATA_FORMS_NS)
        return info

    # -- execution --------------------------------------------------------------------------------------------
    def _get_command(self, jid: JID | None, node: str | None, ifrom: JID | None, args: Any
                     ) -> tuple[str, Any, None, float] | None:
        command = self.commands.by_node(node or "")
        return (command.name, self._start, None, 0) if command is not None else None

    async def _authorize(self, session: Session) -> Command:
        command = self.commands.by_node(session["node"])
        if command is None:
            raise XMPPError("item-not-found")
        try:
            await self.commands.authorize(str(session["from"].bare), command)
        except Forbidden as refusal:
            raise XMPPError("forbidden", text=refusal.text, etype="auth") from None
        return command

    async def _start(self, iq: Iq, session: Session) -> Session:
        self._forget_stale_sessions()
        session["opened"] = time.monotonic()
        command = await self._authorize(session)
        if not command.fields:
            return await self._run(command, session, {})
        session["payload"] = self._form(command)
        session["next"] = self._submit
        session["has_next"] = False  # one form, then done: the client offers "complete"
        return session

    async def _submit(self, payload: Any, session: Session) -> Session:
        command = await self._authorize(session)  # again: the flag may have changed since the form was sent
        forms = payload if isinstance(payload, list) else [payload]
        values: dict[str, Any] = {}
        for form in forms:
            if getattr(form, "plugin_attrib", None) == "form":
                values.update(form.get_values())
        return await self._run(command, session, values)

    async def _run(self, command: Command, session: Session, values: dict[str, Any]) -> Session:
        session["next"] = None
        session["has_next"] = False
        session["payload"] = None
        try:
            result = await self.commands.run(str(session["from"].bare), command, values)
        except Forbidden as refusal:
            raise XMPPError("forbidden", text=refusal.text, etype="auth") from None
        except CommandError as error:
            session["notes"] = [("error", error.text)]
            return session
        except Exception:
            log.exception("ad-hoc command %s from %s failed", command.node, session["from"])
            session["notes"] = [("error", "The gateway could not run this command. Try again later.")]
            return session
        session["notes"] = [("info", result.text)]
        if result.columns:
            session["payload"] = self._table(command, result)
        return session

    def _forget_stale_sessions(self) -> None:
        sessions = self.xmpp.plugin["xep_0050"].sessions
        cutoff = time.monotonic() - SESSION_LIFETIME
        for stale in [sid for sid, session in sessions.items() if session.get("opened", cutoff) < cutoff]:
            del sessions[stale]

    # -- forms ------------------------------------------------------------------------------------------------
    def _form(self, command: Command) -> Any:
        form = self.xmpp.plugin["xep_0004"].make_form(ftype="form", title=command.name,
                                                      instructions=command.description)
        for spec in command.fields:
            field = form.add_field(var=spec.var, ftype=spec.type.value, label=spec.label, required=spec.required,
                                   value=spec.default)
            for option in spec.options:
                field.add_option(label=option, value=option)
        return form

    def _table(self, command: Command, result: Result) -> Any:
        form = self.xmpp.plugin["xep_0004"].make_form(ftype="result", title=command.name)
        for column in result.columns:
            form.add_reported(column, ftype="text-single", label=column)
        for row in result.rows:
            form.add_item(dict(zip(result.columns, row, strict=True)))
        return form


def _requester(ifrom: JID | None) -> str:
    return str(ifrom.bare) if ifrom is not None else ""
