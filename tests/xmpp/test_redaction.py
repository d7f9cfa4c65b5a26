"""Passwords typed into commands are masked in slixmpp's stanza logs, for whichever commands declare them."""

from __future__ import annotations

import logging

import pytest

from gateway.commands.command import Access, Command, Field, FieldType, Result
from gateway.logs import MASK
from gateway.xmpp.redaction import STREAM_LOGGER, redact_stanza_logs


async def _nothing(*_: object) -> Result:
    return Result("")


LOGIN = Command("x/login", "Log in", "Log in.", Access.USER, _nothing,
                (Field("account", "Account"), Field("secret", "Secret", FieldType.PRIVATE)), words=("x-login",))
NICK = Command("x/nick", "Nick", "Set a nick.", Access.USER, _nothing, (Field("nick", "Nick"),), words=("x-nick",))


@pytest.fixture
def logged(caplog: pytest.LogCaptureFixture) -> list[str]:
    redact_stanza_logs([LOGIN, NICK])
    stream_log = logging.getLogger(STREAM_LOGGER)
    with caplog.at_level(logging.DEBUG, STREAM_LOGGER):
        stream_log.debug("SEND: %s", '<iq><x><field var="secret" type="text-private"><value>hunter2</value></field>'
                                     '<field var="account"><value>alice</value></field></x></iq>')
        stream_log.debug("RECV: %s", "<message><body>X-Login alice hunter2</body></message>")
        stream_log.debug("RECV: %s", "<message><body>x-nick alice</body></message>")
        stream_log.debug("RECV: %s", "<message><body>x-loginx alice</body></message>")
    return [record.getMessage() for record in caplog.records]


def test_private_fields_and_the_chat_text_of_their_commands_are_masked(logged: list[str]) -> None:
    form, chat, other, lookalike = logged
    assert "hunter2" not in form and f"<value>{MASK}</value>" in form and "<value>alice</value>" in form
    assert chat == f"RECV: <message><body>X-Login {MASK}</body></message>"
    assert other.endswith("<body>x-nick alice</body></message>")
    assert lookalike.endswith("<body>x-loginx alice</body></message>")
