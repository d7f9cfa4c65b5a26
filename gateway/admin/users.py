"""User administration, checked: bare JIDs only, clear errors for what does not exist or already does."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import replace

from gateway.core.ports import UserRecord
from gateway.store.store import Store
from gateway.store.users import UserExists, UserNotFound


class AdminError(Exception):
    """A refused admin operation; the text says why."""


def bare_jid(text: str) -> str:
    """`text` as a normalised bare JID (slixmpp's own rules), or AdminError saying what is wrong with it."""
    # Imported here, not at the top: transports' CLI and command modules import this module, and transports
    # never load slixmpp (whose package import also costs start-up time) just by being imported.
    from slixmpp.jid import JID, InvalidJID

    try:
        jid = JID(text.strip())
    except InvalidJID as exc:
        raise AdminError(f"{text!r} is not a valid JID: {exc}") from None
    if not jid.user or jid.resource:
        raise AdminError(f"{text!r} is not a bare JID like alice@example.org")
    return str(jid.bare)


def check_transports(wanted: Sequence[str], configured: Sequence[str]) -> tuple[str, ...]:
    """The transports named (all configured ones when none is), each checked against the configuration."""
    unknown = sorted(set(wanted) - set(configured))
    if unknown:
        have = ", ".join(sorted(configured)) or "none"
        raise AdminError(f"no transport named {', '.join(unknown)} is configured (configured: {have})")
    return tuple(sorted(set(wanted or configured)))


async def add_user(store: Store, jid: str, admin: bool = False, transports: Sequence[str] = ()) -> UserRecord:
    """Add a user as a member of `transports`; an existing user is added to those they are not a member of."""
    jid = bare_jid(jid)
    try:
        return await store.users.add(jid, is_admin=admin, transports=transports)
    except UserExists:
        pass
    existing = await store.users.get_user(jid)
    missing = sorted(set(transports) - (existing.transports if existing else frozenset()))
    if existing is None or not missing:
        listed = f" of {', '.join(sorted(transports))}" if transports else ""
        raise AdminError(f"{jid} is already a user{listed}")
    for transport in missing:
        await store.users.join(jid, transport)
    if admin and not existing.is_admin:
        await store.users.update(jid, is_admin=True)
    record = await store.users.get_user(jid)
    assert record is not None
    return record


async def remove_user(store: Store, jid: str, transport: str | None = None) -> bool:
    """Remove a user with all their data, or (with `transport`) only their membership and data there; True if
    the user row is gone (with their last transport)."""
    jid = bare_jid(jid)
    try:
        if transport is None:
            await store.users.remove(jid)
            return True
        return await store.users.leave(jid, transport)
    except UserNotFound:
        raise AdminError(f"{jid} is not a user{f' of {transport}' if transport else ''}") from None


async def list_users(store: Store, config_admins: Collection[str] = ()) -> list[UserRecord]:
    """Every user; those named in `[xmpp] admins` are admins whatever their database flag says."""
    return [replace(user, is_admin=True) if user.jid in config_admins and not user.is_admin else user
            for user in await store.users.all()]


async def _update(store: Store, jid: str, **flags: bool) -> tuple[UserRecord, UserRecord]:
    """Set flags on an existing user; returns (before, after)."""
    jid = bare_jid(jid)
    before = await store.users.get_user(jid)
    if before is None:
        raise AdminError(f"{jid} is not a user")
    try:
        after = await store.users.update(jid, **flags)
    except UserNotFound:  # removed meanwhile
        raise AdminError(f"{jid} is not a user") from None
    return before, after


async def set_enabled(store: Store, jid: str, enabled: bool) -> tuple[UserRecord, bool]:
    """Enable or disable a user; the bool says whether anything changed."""
    before, after = await _update(store, jid, enabled=enabled)
    return after, before.enabled != after.enabled


async def set_admin(store: Store, jid: str, admin: bool) -> tuple[UserRecord, bool]:
    """Set or clear a user's admin flag; the bool says whether anything changed."""
    before, after = await _update(store, jid, is_admin=admin)
    return after, before.is_admin != after.is_admin
