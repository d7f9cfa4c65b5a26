"""Channel membership modes (ISUPPORT PREFIX, e.g. `(qaohv)~&@%+`) -> XEP-0045 roles and affiliations.

    q, a (founder, protected)  -> owner, moderator
    o (operator)               -> admin, moderator
    h (half-operator)          -> member, moderator
    v (voice)                  -> member, participant
    none                       -> none, participant

A mode letter the table does not know is ranked by its place in PREFIX: above o like a, between o and v like h,
below v like v. PREFIX is parsed here (a library would be a dependency for these few lines); the walk over a
MODE line is hand-written because jaraco's `irc.modes` assumes a fixed set of argument-taking modes instead of the
network's CHANMODES.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from gateway.core.rooms import Affiliation, Role

DEFAULT_PREFIX = "(ov)@+"
_PREFIX = re.compile(r"\((?P<modes>[^()\s]+)\)(?P<symbols>[^()\s]+)")
DEFAULT_CHANMODES = ("beI", "k", "l", "imnpst")  # RFC-ish defaults: lists, always-arg, arg-when-set, flags

_KNOWN: dict[str, tuple[Role, Affiliation]] = {
    "q": ("moderator", "owner"),
    "a": ("moderator", "owner"),
    "o": ("moderator", "admin"),
    "h": ("moderator", "member"),
    "v": ("participant", "member"),
}
_NONE: tuple[Role, Affiliation] = ("participant", "none")


@dataclass(frozen=True)
class Prefixes:
    """A network's membership modes, highest first, and the symbols shown before nicks (NAMES, WHO)."""

    modes: str = "ov"
    symbols: str = "@+"

    @classmethod
    def from_isupport(cls, value: str | None) -> Prefixes:
        """From the PREFIX value (`(qaohv)~&@%+`); the RFC 1459 `(ov)@+` when absent or unreadable."""
        match = _PREFIX.fullmatch(value or "")
        if match is None:
            return cls()
        pairs = dict(zip(match["symbols"], match["modes"], strict=False))  # uneven: what pairs is kept
        return cls(modes="".join(pairs.values()), symbols="".join(pairs))

    def mode_of(self, symbol: str) -> str | None:
        index = self.symbols.find(symbol)
        return self.modes[index] if index >= 0 and symbol else None

    def symbol_of(self, mode: str) -> str | None:
        index = self.modes.find(mode)
        return self.symbols[index] if index >= 0 and mode else None

    def split_name(self, entry: str) -> tuple[frozenset[str], str]:
        """A NAMES entry (`@+nick`, or `@nick!user@host` with userhost-in-names) -> (modes, nick)."""
        index = 0
        modes: set[str] = set()
        while index < len(entry) and (mode := self.mode_of(entry[index])) is not None:
            modes.add(mode)
            index += 1
        return frozenset(modes), entry[index:].split("!", 1)[0]

    def highest(self, modes: Iterable[str]) -> str | None:
        ranked = [m for m in self.modes if m in set(modes)]
        return ranked[0] if ranked else None

    def role_affiliation(self, modes: Iterable[str]) -> tuple[Role, Affiliation]:
        """The MUC role and affiliation a member with these channel modes has."""
        top = self.highest(modes)
        if top is None:
            return _NONE
        if top in _KNOWN:
            return _KNOWN[top]
        return self._by_rank(top)

    def _by_rank(self, mode: str) -> tuple[Role, Affiliation]:
        rank = self.modes.index(mode)
        if "o" in self.modes and rank < self.modes.index("o"):
            return ("moderator", "owner")
        if rank < (self.modes.index("v") if "v" in self.modes else len(self.modes)):
            return ("moderator", "member")
        return ("participant", "member")


def role_affiliation(modes: Iterable[str], prefixes: Prefixes | None = None) -> tuple[Role, Affiliation]:
    """Shortcut for Prefixes.role_affiliation with the network's prefixes (default `(ov)@+`)."""
    return (prefixes or Prefixes()).role_affiliation(modes)


@dataclass(frozen=True)
class MemberModeChange:
    """One membership mode set or removed by a MODE line: +o alice."""

    nick: str
    mode: str
    added: bool


def chanmodes_from_isupport(value: str | None) -> tuple[str, str, str, str]:
    """CHANMODES=A,B,C,D (list, always-argument, argument-when-set, flag modes); defaults when absent."""
    if not value:
        return DEFAULT_CHANMODES
    parts = [*value.split(","), "", "", "", ""][:4]
    return (parts[0], parts[1], parts[2], parts[3])


def member_mode_changes(
    params: Sequence[str], prefixes: Prefixes, chanmodes: tuple[str, str, str, str] = DEFAULT_CHANMODES
) -> list[MemberModeChange]:
    """The membership changes in a channel MODE line's parameters after the channel (`+ov-v alice bob carol`).

    Other modes are skipped, each consuming its argument as CHANMODES says, so the nicks stay aligned.
    """
    if not params:
        return []
    list_modes, always, when_set, _flags = chanmodes
    args = list(params[1:])
    changes: list[MemberModeChange] = []
    adding = True
    for ch in params[0]:
        if ch in "+-":
            adding = ch == "+"
            continue
        if ch in prefixes.modes:
            if args:
                changes.append(MemberModeChange(args.pop(0), ch, adding))
        elif (ch in list_modes or ch in always or (ch in when_set and adding)) and args:
            args.pop(0)
    return changes
