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
