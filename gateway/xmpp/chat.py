"""Chat text to a component's own JID: the same commands as the ad-hoc ones, typed as a line ("contacts", ...)."""

from __future__ import annotations

import logging

from gateway.commands.command import Access, CommandError, Forbidden
from gateway.commands.command_set import CommandSet

log = logging.getLogger(__name__)

HELP_WORDS = frozenset({"help", "?", "commands"})


class ChatCommands:
    def __init__(self, commands: CommandSet) -> None:
        self.commands = commands

    async def handle(self, jid: str, body: str) -> str:
        """The reply to a line of text from `jid` (a bare JID): a command's result, an error, or help."""
        word, _, arguments = body.strip().partition(" ")
        try:
            if word.lower() in HELP_WORDS:
                return await self.help(jid)
            command = self.commands.by_word(word)
            if command is not None and command.access is Access.ADMIN and not await self.commands.access.is_admin(jid):
                command = None  # non-admins do not learn that admin commands exist
            if command is None:
                return f"Unknown command: {word}\n\n{await self.help(jid)}"
            await self.commands.authorize(jid, command)  # before parsing: a refusal beats a usage hint
            result = await self.commands.run(jid, command, command.parse(arguments))
        except Forbidden as refusal:
            return f"Forbidden: {refusal.text}"
        except CommandError as error:
            return error.text
        except Exception:
            log.exception("chat command %r from %s failed", word, jid)
            return "The gateway could not run this command. Try again later."
        return result.as_text()

    async def help(self, jid: str) -> str:
        visible = await self.commands.visible(jid)
        lines = [self.commands.transport.help_text(), "", "Commands (send them as a message to this address):",
                 "  help: this text"]
        for access, title in ((Access.USER, None), (Access.ADMIN, "Admin commands:")):
            listed = [c for c in visible if c.access is access and c.words]
            if listed and title:
                lines += ["", title]
            lines += [f"  {c.usage}: {c.description}" for c in listed]
        lines += ["", "Your client's ad-hoc commands menu offers the same with forms."]
        return "\n".join(lines)
