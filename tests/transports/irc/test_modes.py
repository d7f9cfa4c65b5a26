from __future__ import annotations

import pytest

from gateway.transports.irc.modes import (
    MemberModeChange,
    Prefixes,
    chanmodes_from_isupport,
    member_mode_changes,
    role_affiliation,
)

INSPIRCD = Prefixes.from_isupport("(qaohv)~&@%+")


def test_prefix_parsing() -> None:
    assert (INSPIRCD.modes, INSPIRCD.symbols) == ("qaohv", "~&@%+")
    assert (INSPIRCD.mode_of("@"), INSPIRCD.symbol_of("h"), INSPIRCD.mode_of("x"), INSPIRCD.mode_of("")) == (
        "o", "%", None, None)
    assert Prefixes.from_isupport(None) == Prefixes("ov", "@+")
    assert Prefixes.from_isupport("garbage") == Prefixes("ov", "@+")
    assert Prefixes.from_isupport("(ov)@") == Prefixes("o", "@")  # uneven: zip keeps what pairs


@pytest.mark.parametrize(
    ("modes", "expected"),
    [
        ("q", ("moderator", "owner")),
        ("a", ("moderator", "owner")),
        ("o", ("moderator", "admin")),
        ("h", ("moderator", "member")),
        ("v", ("participant", "member")),
        ("", ("participant", "none")),
        ("vo", ("moderator", "admin")),  # the highest mode counts (multi-prefix)
        ("qv", ("moderator", "owner")),
    ],
)
def test_roles(modes: str, expected: tuple[str, str]) -> None:
    assert INSPIRCD.role_affiliation(modes) == expected


def test_unknown_modes_ranked_by_place() -> None:
    odd = Prefixes.from_isupport("(Yoxv)!@*+")
    assert odd.role_affiliation("Y") == ("moderator", "owner")
    assert odd.role_affiliation("x") == ("moderator", "member")
    assert Prefixes.from_isupport("(ovz)@+.").role_affiliation("z") == ("participant", "member")
    assert role_affiliation("o") == ("moderator", "admin")


def test_names_entries() -> None:
    assert INSPIRCD.split_name("@+alice") == (frozenset("ov"), "alice")
    assert INSPIRCD.split_name("~bob!u@h") == (frozenset("q"), "bob")
    assert INSPIRCD.split_name("carol") == (frozenset(), "carol")
    assert INSPIRCD.role_affiliation(INSPIRCD.split_name("%+dave")[0]) == ("moderator", "member")


def test_mode_changes_skip_other_arguments() -> None:
    chanmodes = chanmodes_from_isupport("IXbeg,k,FHJLfjl,ACKMNOPQRSTcimnprstz")
    changes = member_mode_changes(["+okv-bl+l", "alice", "secret", "bob", "*!*@x", "10"], INSPIRCD, chanmodes)
    assert changes == [MemberModeChange("alice", "o", True), MemberModeChange("bob", "v", True)]
    assert member_mode_changes(["-o+h", "alice", "bob"], INSPIRCD) == [
        MemberModeChange("alice", "o", False), MemberModeChange("bob", "h", True)]
    assert member_mode_changes(["+o"], INSPIRCD) == []
    assert member_mode_changes([], INSPIRCD) == []
    assert chanmodes_from_isupport("b,k") == ("b", "k", "", "")


def test_a_prefix_with_a_repeated_symbol_keeps_one_mode_for_it() -> None:
    assert Prefixes.from_isupport("(oa)@@") == Prefixes("a", "@")
    assert Prefixes.from_isupport("()") == Prefixes("ov", "@+")
