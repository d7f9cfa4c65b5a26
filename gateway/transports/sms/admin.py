"""`xmpp-gateway admin sms ...`: bind numbers to users (only admins ever do), block numbers for a user.

Each operation names the SMS transport instance it applies to (its `[transports.<name>]` table): with two
accounts on two domains, a number bound on one is not bound on the other."""

from __future__ import annotations

from gateway.admin.users import AdminError, bare_jid
from gateway.store.bindings import BindingExists, BindingNotFound, BindingRecord
from gateway.store.store import Store
from gateway.store.users import UserNotFound
from gateway.transports.base import AddressError
from gateway.transports.settings import TransportSettings
from gateway.transports.sms.addressing import prompt_to_e164
from gateway.transports.sms.settings import SmsSettings


def number(text: str, settings: SmsSettings | None) -> str:
    """The E.164 form of a number as an admin typed it, judged by the SMS settings (if configured)."""
    try:
        if settings is None:
            return prompt_to_e164(text, "US")
        return prompt_to_e164(text, settings.default_region, check=settings.number_check)
    except AddressError as exc:
        raise AdminError(exc.text) from None


def contact_address(text: str, settings: TransportSettings | None) -> str:
    """A contact's number as stored (E.164), read as `number` reads it."""
    return number(text, settings if isinstance(settings, SmsSettings) else None)


async def bind(store: Store, transport: str, jid: str, text: str, settings: SmsSettings | None,
               default: bool = False) -> tuple[BindingRecord, bool]:
    """Bind a number to a user, adding the user first if needed; the bool says whether they were added."""
    jid, e164 = bare_jid(jid), number(text, settings)
    added = await store.users.get_user(jid) is None
    if added:
        await store.users.add(jid)
    try:
        return await store.bindings.bind(jid, transport, e164, default=default), added
    except BindingExists:
        raise AdminError(f"{e164} is already bound to {jid}") from None


async def unbind(store: Store, transport: str, jid: str, text: str, settings: SmsSettings | None) -> str:
    jid, e164 = bare_jid(jid), number(text, settings)
    try:
        await store.bindings.unbind(jid, transport, e164)
    except BindingNotFound:
        raise AdminError(f"{e164} is not bound to {jid}") from None
    return e164


async def list_bindings(store: Store, transport: str, jid: str | None) -> list[BindingRecord]:
    return await store.bindings.find(transport, bare_jid(jid) if jid else None)


async def block(store: Store, transport: str, jid: str, text: str, settings: SmsSettings | None) -> str:
    jid, e164 = bare_jid(jid), number(text, settings)
    try:
        await store.sms.block(transport, jid, e164)
    except UserNotFound:
        raise AdminError(f"{jid} is not a user") from None
    return e164


async def unblock(store: Store, transport: str, jid: str, text: str, settings: SmsSettings | None) -> str:
    jid, e164 = bare_jid(jid), number(text, settings)
    try:
        if not await store.sms.unblock(transport, jid, e164):
            raise AdminError(f"{jid} has not blocked {e164}")
    except UserNotFound:
        raise AdminError(f"{jid} is not a user") from None
    return e164
