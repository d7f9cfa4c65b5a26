"""Received lines: IRCv3 tag values unescaped as the message-tags spec says, parts split on spaces only."""

from __future__ import annotations

import pytest

from gateway.transports.irc.wire import parse


@pytest.mark.parametrize(("raw", "value"), [
    ("a=b\\", "b"),  # a lone backslash at the end is dropped
    ("a=b\\\\", "b\\"),
    ("a=x\\sy\\:z", "x y;z"),
    ("a=\\r\\n", "\r\n"),
    ("a=\\b", "b"),  # another escaped character stands for itself
    ("a=", ""),
    ("a", ""),
    ("+example.com/x=1=2", "1=2"),  # only the first = ends the key
])
def test_tag_values(raw: str, value: str) -> None:
    line = parse(f"@{raw} :nick!u@h PRIVMSG #c :hi")
    assert line is not None
    assert list(line.tags.values()) == [value]


def test_tags_the_source_and_params() -> None:
    line = parse("@time=2026-12-07T01:02:03.000Z;msgid=abc :nick!u@h PRIVMSG #c :hello  there")
    assert line is not None
    assert line.tags == {"time": "2026-12-07T01:02:03.000Z", "msgid": "abc"}
    assert (line.source, line.command, line.params) == ("nick!u@h", "PRIVMSG", ("#c", "hello  there"))
