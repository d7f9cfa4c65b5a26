from __future__ import annotations

import unicodedata

import pytest

from gateway.transports.irc.lines import (
    UnsafeParameter,
    body_lines,
    build_line,
    check_param,
    ctcp_action,
    decode,
    encode_line,
    incoming_body,
    one_line,
    privmsg_lines,
    split_text,
    text_budget,
)

NICK, USER, HOST = "alice", "~xmpp", "127.0.0.1"


def relayed_bytes(line: str) -> int:
    """What a recipient gets: the server's prefix in front, CRLF at the end."""
    return len(f":{NICK}!{USER}@{HOST} ".encode()) + len(line.encode()) + 2


def send(target: str, body: str, **kw: object) -> list[str]:
    return [m.line for m in privmsg_lines(target, body, nick=NICK, user=USER, host=HOST, **kw)]  # type: ignore[arg-type]


# -- injection ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("body", ["hi\r\nQUIT :bye", "hi\rQUIT", "hi\nJOIN #evil", "hi\0QUIT", "a\r\n\r\nb"])
def test_body_never_carries_line_breaks(body: str) -> None:
    lines = send("#chan", body)
    for line in lines:
        assert not set(line) & {"\r", "\n", "\0"}
        assert line.startswith("PRIVMSG #chan :")
        encode_line(line)  # the last check before the socket passes
    # Each line of the body became its own PRIVMSG; nothing became a command.
    assert [line.removeprefix("PRIVMSG #chan :") for line in lines] == body_lines(body)


def test_multi_line_body_is_one_privmsg_per_line() -> None:
    assert send("#chan", "one\ntwo\r\n\r\nthree\n") == ["PRIVMSG #chan :one", "PRIVMSG #chan :two",
                                                      "PRIVMSG #chan :three"]
    assert send("bob", "  indented\n") == ["PRIVMSG bob :  indented"]
    assert send("bob", "\n\n") == []


@pytest.mark.parametrize("target", ["#chan\r\nQUIT", "#chan\nJOIN #x", "#chan\0", "#a b", ":#chan", ""])
def test_target_with_line_breaks_refused(target: str) -> None:
    with pytest.raises(UnsafeParameter) as info:
        send(target, "hello")
    assert info.value.condition == "bad-request"


@pytest.mark.parametrize("nick", ["bob\r\nQUIT", "bob\n", "bo\0b", "bob smith", ":bob"])
def test_nick_and_channel_parameters_refused(nick: str) -> None:
    with pytest.raises(UnsafeParameter):
        build_line("NICK", nick)
    with pytest.raises(UnsafeParameter):
        build_line("KICK", "#chan", nick, trailing="bye")
    with pytest.raises(UnsafeParameter):
        check_param(nick, "nick")


def test_subject_is_made_one_line() -> None:
    subject = one_line("Welcome\r\nTOPIC #x :pwned\0\x01 end")
    assert subject == "Welcome TOPIC #x :pwned end"
    assert build_line("TOPIC", "#chan", trailing=subject) == "TOPIC #chan :Welcome TOPIC #x :pwned end"
    with pytest.raises(UnsafeParameter):
        build_line("TOPIC", "#chan", trailing="a\r\nQUIT")


def test_build_line_refuses_bad_commands_and_encode_refuses_breaks() -> None:
    with pytest.raises(UnsafeParameter):
        build_line("PRIV MSG", "#x")
    with pytest.raises(UnsafeParameter):
        build_line("PRIVMSG\r\nQUIT", "#x")
    with pytest.raises(UnsafeParameter):
        encode_line("PRIVMSG #x :a\nQUIT")
    with pytest.raises(UnsafeParameter, match="at most 512"):
        encode_line("PRIVMSG #x :" + "a" * 600)
    assert encode_line("PING :x") == b"PING :x\r\n"


def test_ctcp_delimiters_in_a_body_cannot_start_a_ctcp() -> None:
    assert send("bob", "\x01VERSION\x01") == ["PRIVMSG bob :VERSION"]


# -- splitting ---------------------------------------------------------------------------------------------------


def pieces(lines: list[str], target: str = "#chan") -> list[str]:
    return [line.removeprefix(f"PRIVMSG {target} :") for line in lines]


def test_long_ascii_line_split_at_words_with_the_real_prefix() -> None:
    words = " ".join(f"word{i:03d}" for i in range(200))
    lines = send("#chan", words)
    assert len(lines) > 1
    assert all(relayed_bytes(line) <= 512 for line in lines)
    assert max(relayed_bytes(line) for line in lines) > 500  # the budget is used, not wasted
    assert " ".join(pieces(lines)) == words  # cut only at blanks, nothing lost
    assert all(not p.startswith(" ") and not p.endswith(" ") for p in pieces(lines))


def test_chinese_split_at_512_bytes_never_inside_a_character() -> None:
    text = "中文测试消息" * 100  # 3 bytes each, no blanks
    lines = send("#chan", text)
    assert all(relayed_bytes(line) <= 512 for line in lines)
    assert all(relayed_bytes(line) > 509 for line in lines[:-1])  # full up to one character
    assert "".join(pieces(lines)) == text
    for line in lines:
        line.encode("utf-8").decode("utf-8")  # each line is valid UTF-8 on its own


def test_emoji_sequences_not_split() -> None:
    family = "👨\u200d👩\u200d👧\u200d👦"  # one grapheme, 25 bytes
    thumbs = "👍🏽"
    flag = "🇩🇪"
    keycap = "1\ufe0f\u20e3"
    unit = family + thumbs + flag + keycap + "é" + "e\u0301"
    text = unit * 30
    lines = send("#chan", text)
    joined = "".join(pieces(lines))
    assert joined == text
    assert all(relayed_bytes(line) <= 512 for line in lines)
    for piece in pieces(lines):
        assert unicodedata.category(piece[0]) not in ("Mn", "Me") and piece[0] not in ("\u200d", "\ufe0f", "🏽")
        assert not piece.endswith("\u200d")
        assert not (piece.startswith("🇪") and not piece.startswith("🇪🇩"))  # flags stay pairs


def test_regional_indicator_pairs() -> None:
    flags = "🇩🇪🇫🇷🇮🇹"  # 3 flags, 8 bytes each
    assert split_text(flags, 17) == ["🇩🇪🇫🇷", "🇮🇹"]
    assert split_text(flags, 9) == ["🇩🇪", "🇫🇷", "🇮🇹"]


def test_cluster_longer_than_the_limit_is_cut_between_characters() -> None:
    family = "👨\u200d👩\u200d👧\u200d👦"
    out = split_text(family, 8)
    assert "".join(out) == family and all(len(p.encode()) <= 8 for p in out)


def test_split_text_edges() -> None:
    assert split_text("", 10) == []
    assert split_text("short", 10) == ["short"]
    assert split_text("abcdefghij", 10) == ["abcdefghij"]
    assert split_text("abcde fghij", 10) == ["abcde", "fghij"]
    assert split_text("abcdefghijklmno", 10) == ["abcdefghij", "klmno"]
    assert split_text("ab           cd", 4) == ["ab", "cd"]
    assert split_text("aaaa bbbbbbbbbbbbbbb", 10) == ["aaaa", "bbbbbbbbbb", "bbbbb"]
    with pytest.raises(ValueError):
        split_text("x", 3)


def test_action_is_ctcp_and_budgeted() -> None:
    lines = send("#chan", "/me waves")
    assert lines == ["PRIVMSG #chan :\x01ACTION waves\x01"]
    long = send("#chan", "/me " + "x " * 400)
    assert len(long) > 1 and all(relayed_bytes(line) <= 512 for line in long)
    assert all(line.startswith("PRIVMSG #chan :\x01ACTION ") and line.endswith("\x01") for line in long)
    assert send("#chan", "/meh") == ["PRIVMSG #chan :/meh"]
    assert send("#chan", "/me waves", action=False) == ["PRIVMSG #chan :/me waves"]
    msgs = privmsg_lines("#chan", "/me waves", nick=NICK)
    assert (msgs[0].text, msgs[0].action) == ("waves", True)


def test_notice_and_unknown_host_budget() -> None:
    assert send("bob", "hi", command="NOTICE") == ["NOTICE bob :hi"]
    with pytest.raises(UnsafeParameter):
        send("bob", "hi", command="KICK")
    known = text_budget(512, NICK, "#chan", user=USER, host=HOST)
    assert known == 512 - len(f":{NICK}!{USER}@{HOST} PRIVMSG #chan :\r\n")
    assert text_budget(512, NICK, "#chan") < known  # unknown user@host: assume long ones
    with pytest.raises(UnsafeParameter, match="no room"):
        text_budget(512, NICK, "#" + "c" * 480)


def test_incoming_action() -> None:
    assert ctcp_action("\x01ACTION waves\x01") == "waves"
    assert ctcp_action("\x01ACTION waves") == "waves"
    assert ctcp_action("\x01ACTION\x01") == ""
    assert ctcp_action("\x01VERSION\x01") is None
    assert ctcp_action("\x01ACTIONS x\x01") is None
    assert ctcp_action("plain") is None
    assert incoming_body("waves", action=True) == "/me waves"
    assert incoming_body("hello") == "hello"


# -- decoding ----------------------------------------------------------------------------------------------------


def test_decode_utf8_then_fallback_never_raises() -> None:
    assert decode("Grüße 中文".encode()) == "Grüße 中文"
    assert decode("Grüße".encode("latin-1")) == "Grüße"
    assert decode("€uro".encode("cp1252"), "cp1252") == "€uro"
    assert decode(b"\x81\xff", "utf-16") is not None  # an odd length: replaced, not raised
    assert decode(b"caf\xe9", "no-such-codec") == "café"
    assert decode(bytes(range(256))) is not None
