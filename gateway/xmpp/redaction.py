"""Passwords typed into commands never reach a log.

slixmpp logs every stanza at debug level. The values of private (password) fields in submitted forms, and the
chat text after the word of a command that takes one, are masked there, for whichever commands the components
serve.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

from gateway.commands.command import Command, FieldType
from gateway.logs import MASK

STREAM_LOGGER = "slixmpp.xmlstream.xmlstream"


class _RedactSecrets(logging.Filter):
    def __init__(self) -> None:
        super().__init__()
        self.field_vars: set[str] = set()
        self.chat_words: set[str] = set()
        self._form: re.Pattern[str] | None = None
        self._chat: re.Pattern[str] | None = None

    def learn(self, commands: Iterable[Command]) -> None:
        for command in commands:
            private = [spec.var for spec in command.fields if spec.type is FieldType.PRIVATE]
            if private:
                self.field_vars.update(private)
                self.chat_words.update(word.lower() for word in command.words)
        if self.field_vars:
            names = "|".join(sorted(map(re.escape, self.field_vars)))
            self._form = re.compile(rf'(<field var="(?:{names})"[^>]*>\s*<value>)[^<]*(</value>)')
        if self.chat_words:
            words = "|".join(sorted(map(re.escape, self.chat_words), key=len, reverse=True))
            self._chat = re.compile(rf"(<body>\s*(?:{words})(?![\w-]))[^<]*", re.IGNORECASE)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = message
        if self._form is not None and "<field" in message:
            redacted = self._form.sub(rf"\1{MASK}\2", redacted)
        if self._chat is not None and "<body>" in message:
            redacted = self._chat.sub(rf"\1 {MASK}", redacted)
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True


def redact_stanza_logs(commands: Iterable[Command]) -> None:
    """Mask the secrets of `commands` in slixmpp's stanza logs (one filter, which learns every call's)."""
    stream_log = logging.getLogger(STREAM_LOGGER)
    found = next((f for f in stream_log.filters if isinstance(f, _RedactSecrets)), None)
    if found is None:
        found = _RedactSecrets()
        stream_log.addFilter(found)
    found.learn(commands)
