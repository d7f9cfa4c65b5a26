"""User administration, checked: bare JIDs only, clear errors for what does not exist or already does."""

from __future__ import annotations

from slixmpp.jid import JID, InvalidJID

from gateway.core.ports import UserRecord
from gateway.store.store import Store
from gateway.store.users import UserExists, UserNotFound


class AdminError(Exception):
    """A refused admin operation; the text says why."""


def bare_jid(text: str) -> str:
    try:
        jid = JID(text.strip())
    except InvalidJID as exc:
        raise AdminError(f"{text!r} is not a valid JID: {exc}") from None
    if not jid.user or jid.resource:
        raise AdminError(f"{text!r} is not a bare JID like alice@example.org")
    return str(jid.bare)


async def add_user(store: Store, jid: str, admin: bool = False) -> UserRecord:
    jid = bare_jid(jid)
    try:
        return await store.users.add(jid, is_admin=admin)
    except UserExists:
        raise AdminError(f"{jid} is already a user") from None


async def remove_user(store: Store, jid: str) -> None:
    jid = bare_jid(jid)
    try:
        await store.users.remove(jid)
    except UserNotFound:
        raise AdminError(f"{jid} is not a user") from None


async def list_users(store: Store) -> list[UserRecord]:
    return await store.users.all()


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
