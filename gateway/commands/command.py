"""A command: a name, a description, an access level (admin or user), its fields and a handler that works on the
store. Handlers never see stanzas: they get a `Context` (who runs it, on which transport) and the field values,
and return a `Result` (a text and optionally a table) or raise `CommandError`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from gateway.store.store import Store
    from gateway.transports.base import Transport

Value = str | bool
Values = Mapping[str, Value]

TRUE_WORDS = frozenset({"1", "true", "yes", "y", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "n", "off"})


class Access(StrEnum):
    USER = "user"
    ADMIN = "admin"


class FieldType(StrEnum):
    """XEP-0004 field types the commands use."""

    TEXT = "text-single"
    PRIVATE = "text-private"  # a password: clients mask it
    JID = "jid-single"
    BOOLEAN = "boolean"
    LIST = "list-single"


@dataclass(frozen=True)
class Field:
    var: str
    label: str
    type: FieldType = FieldType.TEXT
    required: bool = True
    options: tuple[str, ...] = ()  # for LIST
    default: Value | None = None
    rest: bool = False  # in chat text, this (last) field takes the rest of the line, spaces included

    def __post_init__(self) -> None:
        # XEP-0004 puts options in list fields only (slixmpp refuses them elsewhere, while the form is being
        # built for a user): a command declared otherwise fails where it is declared instead.
        if bool(self.options) != (self.type is FieldType.LIST):
            raise ValueError(f"field {self.var!r}: a list field needs options, and only a list field has them")


class CommandError(Exception):
    """A refused or failed command; `text` says why, for the person who ran it."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


class Forbidden(CommandError):
    """The sender may not run this command (rendered as `forbidden`)."""


@dataclass(frozen=True)
class Result:
    text: str
    columns: tuple[str, ...] = ()
    rows: tuple[tuple[str, ...], ...] = ()

    def as_text(self) -> str:
        if not self.columns:
            return self.text
        lines = [self.text] if self.text else []
        lines += ["  ".join(row) for row in self.rows]
        return "\n".join(lines)


class Notifier(Protocol):
    """What a handler may tell the component after changing data (it never sends stanzas itself)."""

    def contacts_changed(self) -> None: ...

    def unregistered(self, jid: str) -> None: ...


@dataclass(frozen=True)
class Context:
    store: Store
    transport: Transport[Any]
    jid: str  # the bare JID of whoever runs the command
    is_admin: bool
    notify: Notifier
    transports: tuple[str, ...] = ()  # every configured transport's name
    forget: Callable[[str], None] = lambda jid: None  # after changing a user: drop their cached access record
    config_admins: frozenset[str] = frozenset()  # [xmpp] admins


Handler = Callable[[Context, Values], Awaitable[Result]]


@dataclass(frozen=True)
class Command:
    node: str  # the XEP-0050 node
    name: str  # a short title
    description: str
    access: Access
    handler: Handler
    fields: tuple[Field, ...] = ()
    words: tuple[str, ...] = ()  # chat words that run it; the first is shown in help
    # Only for someone with a user record (registered or added by an admin); that they may use this transport
    # is the access check's to say.
    needs_user: bool = False

    @property
    def usage(self) -> str:
        """How to type it as chat text, e.g. `add <address> <name>`."""
        if not self.words:
            return ""
        args = []
        for spec in self.fields:
            args.append(f"<{spec.var}>" if spec.required else f"[{spec.var}]")
            if spec.rest:
                break  # fields after it cannot be given as chat text
        return " ".join([self.words[0], *args])

    def values(self, raw: Mapping[str, Any]) -> dict[str, Value]:
        """Check and convert submitted values (a form's, or parsed chat text): required, booleans, options."""
        values: dict[str, Value] = {}
        for spec in self.fields:
            value = raw.get(spec.var)
            if isinstance(value, list):
                value = value[0] if value else None
            if value is None or (isinstance(value, str) and not value.strip()):
                if spec.required:
                    raise CommandError(f"{spec.label} is required.")
                if spec.default is not None:
                    values[spec.var] = spec.default
                continue
            if spec.type is FieldType.BOOLEAN:
                values[spec.var] = _boolean(spec, value)
                continue
            text = str(value).strip()
            if spec.options and text not in spec.options:
                raise CommandError(f"{spec.label} must be one of: {', '.join(spec.options)}.")
            values[spec.var] = text
        return values

    def parse(self, arguments: str) -> dict[str, Value]:
        """Values from the words after the command word; the last field may take the rest of the line."""
        raw: dict[str, str] = {}
        rest = arguments.strip()
        for index, spec in enumerate(self.fields):
            if not rest:
                break
            if spec.rest or index == len(self.fields) - 1:
                raw[spec.var], rest = rest, ""
                break
            word, _, rest = rest.partition(" ")
            raw[spec.var], rest = word, rest.strip()
        try:
            return self.values(raw)
        except CommandError as error:
            raise CommandError(f"{error.text} Usage: {self.usage}") from None


def _boolean(spec: Field, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise CommandError(f"{spec.label} must be yes or no.")
