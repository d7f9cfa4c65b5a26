"""Contact administration: a name (and a roster group) for an address on a transport, per user; CSV import.

Each transport reads its own addresses (its descriptor's `contact_addresses`: e.g. a phone number by the
configured default region and number check), with its settings when it is configured. A contact belongs to a
transport instance (`[transports.<name>]`, e.g. sms-work); its address is read by the instance's kind (sms).
"""

from __future__ import annotations

import csv
import io
import textwrap
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from gateway.admin.users import AdminError, bare_jid
from gateway.store.contacts import ContactExists, ContactNotFound, ContactRecord, NewContact
from gateway.store.store import Store
from gateway.store.users import UserNotFound
from gateway.transports.descriptor import ContactAddresses
from gateway.transports.discovery import descriptors
from gateway.transports.settings import TransportSettings

MAX_TEXT = 255  # the width of the name, address and group columns

Progress = Callable[[str, int, int], None]  # (phase, done, total)
# The configured transports' settings by name (Config.transports); a transport without any reads addresses by
# its defaults.
Settings = Mapping[str, TransportSettings] | None
# The configured instances' kinds by name (Config.kinds); a name missing from it is its own kind, as when a
# transport is not configured at all.
Kinds = Mapping[str, str] | None


def contact_transports() -> dict[str, ContactAddresses]:
    """The installed transports whose contacts an admin may write, by kind."""
    found = {kind: d.contact_addresses() for kind, d in descriptors().items()}
    return {kind: addresses for kind, addresses in found.items() if addresses is not None}


def _either(words: list[str]) -> str:
    return " or ".join(words) if len(words) < 3 else ", ".join(words[:-1]) + " or " + words[-1]


def csv_help() -> str:
    """How to write a contacts file, for the installed transports."""
    kinds = contact_transports()
    lines = ["The CSV file has a header row naming its columns, in any order:",
             "  name       the name shown in the roster, e.g. Mom (required)",
             f"  transport  {_either(list(kinds))} (required), or the NAME of a [transports.NAME]",
             "             of that kind (needed when several of the kind are configured)",
             "  address    the contact's address on that transport (required):"]
    for kind, addresses in kinds.items():
        lines += textwrap.wrap(f"{kind}: {addresses.csv_description}", 80, initial_indent=" " * 13,
                               subsequent_indent=" " * (15 + len(kind)))
    lines += ["  group      a roster group (optional column, may be empty)",
              "for example:",
              "  name,transport,address,group"]
    names = ("Alice", "Bob", "Carol", "Dave", "Erin")
    lines += [f"  {names[i % len(names)]},{kind},{addresses.example},{'Friends' if i == 0 else ''}"
              for i, (kind, addresses) in enumerate(kinds.items())]
    lines += ["Rows already mapped for the user, listed twice in the file or with a bad",
              "address are rejected, with their line number and the reason. By default",
              "nothing is stored when any row is rejected (one transaction per file) and the",
              "command exits 1; with --skip-bad the good rows are stored and it exits 0.",
              "Blank lines are ignored.", ""]
    return "\n".join(lines)


@dataclass(frozen=True)
class Rejected:
    line: int
    reason: str


@dataclass
class ImportReport:
    rows: int = 0
    stored: int = 0
    rejected: list[Rejected] = field(default_factory=list)


def _names(kinds: Kinds) -> list[str]:
    """What a transport column may say: a kind, or the name of a configured instance of one."""
    addressed = contact_transports()
    return [*addressed, *(name for name, kind in (kinds or {}).items() if kind in addressed and name not in addressed)]


def address(transport: str, text: str, settings: Settings, kinds: Kinds = None) -> str:
    """The stored form of an address on the transport instance `transport` as an admin typed it."""
    addresses = contact_transports().get((kinds or {}).get(transport, transport))
    if addresses is None:
        raise AdminError(f"unknown transport {transport!r}: use {_either(_names(kinds))}")
    return addresses.parse(text, (settings or {}).get(transport))


def row_instance(name: str, kinds: Kinds) -> str:
    """The transport instance a CSV row names: an instance by its name, or a kind by its only configured instance
    (by itself when none is configured); a kind configured several times is ambiguous."""
    if kinds is None or name in kinds:
        return name
    configured = [instance for instance, kind in kinds.items() if kind == name]
    if len(configured) > 1:
        raise AdminError(f"several {descriptors()[name].title} transports are configured: name one of "
                         f"{_either(configured)}")
    return configured[0] if configured else name


def _text(value: str, what: str, required: bool = True) -> str | None:
    value = value.strip()
    if not value:
        if required:
            raise AdminError(f"the {what} is empty")
        return None
    if len(value) > MAX_TEXT:
        raise AdminError(f"the {what} is longer than {MAX_TEXT} characters")
    return value


async def _require_user(store: Store, jid: str) -> str:
    jid = bare_jid(jid)
    if await store.users.get_user(jid) is None:
        raise AdminError(f"{jid} is not a user (add them with `xmpp-gateway admin user add {jid}`)")
    return jid


async def add_contact(store: Store, jid: str, transport: str, text: str, name: str, group: str | None,
                      settings: Settings, via: str | None = None, kinds: Kinds = None) -> ContactRecord:
    """Map a contact on the transport instance `transport`; `via` names which of the user's own addresses
    messages to them go from (on transports that bind addresses to users)."""
    jid, stored = bare_jid(jid), address(transport, text, settings, kinds)
    shown = _text(name, "name")
    assert shown is not None
    roster_group = _text(group or "", "group", required=False)
    if via is not None:
        addressed = contact_transports()
        bind_command = addressed[(kinds or {}).get(transport, transport)].bind_command
        if bind_command is None:
            titles = [descriptors()[kind].title for kind, addresses in addressed.items() if addresses.bind_command]
            raise AdminError("--via names one of the user's bound addresses: it applies to "
                             f"{_either(titles)} contacts only")
        via = address(transport, via, settings, kinds)
        if via not in {b.address for b in await store.bindings.find(transport, jid)}:
            raise AdminError(f"{via} is not bound to {jid} (bind it with `{bind_command}`)")
    try:
        return await store.contacts.add(jid, transport, stored, shown, roster_group, via)
    except UserNotFound:
        raise AdminError(f"{jid} is not a user (add them with `xmpp-gateway admin user add {jid}`)") from None
    except ContactExists:
        raise AdminError(f"{jid} already has the {transport} contact {stored}") from None


async def remove_contact(store: Store, jid: str, transport: str, text: str, settings: Settings,
                         kinds: Kinds = None) -> str:
    """Remove a mapping on the transport instance `transport`; returns the address as stored."""
    jid = await _require_user(store, jid)
    stored = address(transport, text, settings, kinds)
    try:
        await store.contacts.remove(jid, transport, stored)
    except ContactNotFound:
        raise AdminError(f"{jid} has no {transport} contact {stored}") from None
    return stored


async def list_contacts(store: Store, jid: str, transport: str | None = None) -> list[ContactRecord]:
    return await store.contacts.find(await _require_user(store, jid), transport)


# -- CSV import ---------------------------------------------------------------------------------------------
def read_csv_file(path: Path) -> str:
    """The text of a CSV file (UTF-8, with or without the byte order mark spreadsheets write)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise AdminError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise AdminError(f"{path} is not UTF-8 text (line {line}): save it as CSV UTF-8") from None


def parse_contacts_csv(text: str, settings: Settings, progress: Progress | None = None, kinds: Kinds = None
                       ) -> tuple[list[tuple[int, NewContact]], list[Rejected], int]:
    """Read and check every row: (good rows with their line numbers, rejected rows, number of data rows).

    A file-wide problem (no header, an unknown or missing column) raises AdminError.
    """
    records: list[tuple[int, list[str]]] = []
    # strict: a quote left open fails here instead of swallowing the rest of the file into one field.
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""), strict=True)
    previous = 0
    try:
        for record in reader:
            if any(cell.strip() for cell in record):
                records.append((previous + 1, record))
            previous = reader.line_num
    except csv.Error as exc:
        if "end of data" in str(exc):
            raise AdminError(f"line {previous + 1}: a quoted field is never closed (a missing \")") from None
        raise AdminError(f"line {reader.line_num}: not valid CSV: {exc}") from None
    if not records:
        raise AdminError("the file is empty: it needs a header row (name,transport,address[,group]) and rows")
    header_line, header = records[0]
    columns = [cell.strip().lower() for cell in header]
    unknown = [c for c in columns if c not in ("name", "transport", "address", "group")]
    if unknown:
        raise AdminError(f"line {header_line}: unknown column {unknown[0]!r} in the header: the columns are name, "
                         "transport, address and optionally group")
    missing = [c for c in ("name", "transport", "address") if c not in columns]
    if missing:
        raise AdminError(f"line {header_line}: the header has no {' and no '.join(missing)} column "
                         "(it needs name,transport,address[,group])")
    if len(set(columns)) != len(columns):
        raise AdminError(f"line {header_line}: a column is named twice in the header")

    rows = records[1:]
    good: list[tuple[int, NewContact]] = []
    rejected: list[Rejected] = []
    first_seen: dict[tuple[str, str], int] = {}
    for index, (line, record) in enumerate(rows, 1):
        try:
            if len(record) > len(columns):
                raise AdminError(f"{len(record)} fields, the header names {len(columns)}")
            cells = dict(zip(columns, record + [""] * (len(columns) - len(record)), strict=True))
            transport = cells["transport"].strip().lower()
            if not transport:
                raise AdminError(f"the transport is empty: use {_either(_names(kinds))}")
            transport = row_instance(transport, kinds)
            if not cells["address"].strip():
                raise AdminError("the address is empty")
            stored = address(transport, cells["address"], settings, kinds)
            name = _text(cells["name"], "name")
            assert name is not None
            group = _text(cells.get("group", ""), "group", required=False)
            earlier = first_seen.setdefault((transport, stored), line)
            if earlier != line:
                raise AdminError(f"{transport} {stored} is already on line {earlier}")
            good.append((line, NewContact(transport, stored, name, group)))
        except AdminError as exc:
            rejected.append(Rejected(line, str(exc)))
        if progress is not None and (index % 200 == 0 or index == len(rows)):
            progress("checking", index, len(rows))
    return good, rejected, len(rows)


async def import_contacts(store: Store, jid: str, text: str, settings: Settings,
                          skip_bad: bool = False, progress: Progress | None = None, kinds: Kinds = None
                          ) -> ImportReport:
    """Map the contacts of a CSV file (see csv_help) for one user, all or nothing unless `skip_bad`."""
    jid = await _require_user(store, jid)
    good, rejected, count = parse_contacts_csv(text, settings, progress, kinds)
    existing = {(c.transport, c.address): c.name for c in await store.contacts.find(jid)}
    fresh: list[NewContact] = []
    for line, contact in good:
        name = existing.get((contact.transport, contact.address))
        if name is None:
            fresh.append(contact)
        else:
            rejected.append(Rejected(line, f"{jid} already has the {contact.transport} contact {contact.address} "
                                           f"({name})"))
    rejected.sort(key=lambda r: r.line)
    report = ImportReport(rows=count, rejected=rejected)
    if (rejected and not skip_bad) or not fresh:
        return report

    def stored(done: int) -> None:
        if progress is not None:
            progress("storing", done, len(fresh))

    try:
        report.stored = await store.contacts.add_many(jid, fresh, progress=stored)
    except UserNotFound:
        raise AdminError(f"{jid} was removed during the import: nothing stored") from None
    except ContactExists:
        raise AdminError(f"a contact of {jid} was added by someone else during the import: nothing stored, "
                         "run the import again") from None
    return report
