"""Admin commands every component offers: users (add, remove, list, enable, disable, admin flag) and the
contacts of any user on this component's transport."""

from __future__ import annotations

from gateway.admin.users import AdminError, add_user, bare_jid, check_transports, list_users, remove_user
from gateway.commands.command import Access, Command, CommandError, Context, Field, FieldType, Result, Values
from gateway.commands.fields import USER_JID
from gateway.core.events import Refusal
from gateway.store.contacts import ContactExists, ContactNotFound
from gateway.store.users import UserNotFound
from gateway.xmpp.addressing import peer_jid

ADDRESS = Field("address", "Address")  # commands_for says which addresses, per transport
NAME = Field("name", "Name shown in the roster", rest=True)  # chat: the rest of the line (names have spaces)
GROUP = Field("group", "Roster group", required=False)


def _yes(value: bool) -> str:
    return "yes" if value else "no"


def _jid(values: Values) -> str:
    try:
        return bare_jid(str(values["jid"]))
    except AdminError as error:
        raise CommandError(str(error)) from None


def contact_address(context: Context, text: str) -> str:
    """The canonical foreign address for what someone typed, judged by the transport."""
    transport = context.transport
    try:
        if transport.prompt is not None:
            return transport.address_from_prompt(text.strip())
        return transport.normalize_peer(text.strip())
    except Refusal as refusal:
        raise CommandError(refusal.text) from None


def contacts_result(context: Context, jid: str, records: list[tuple[str, str, str | None]]) -> Result:
    domain = context.transport.settings.jid
    rows = tuple((name, address, str(peer_jid(address, domain)), group or "") for address, name, group in records)
    if not rows:
        return Result(f"{jid} has no contacts on {domain}.")
    return Result(f"{len(rows)} contact(s) of {jid} on {domain}:", ("name", "address", "jid", "group"), rows)


# -- users ------------------------------------------------------------------------------------------------
async def users_list(context: Context, values: Values) -> Result:
    users = await list_users(context.store, context.config_admins)
    if not users:
        return Result("There are no users.")
    rows = tuple((u.jid, _yes(u.is_admin), _yes(u.enabled), ", ".join(sorted(u.transports))) for u in users)
    return Result(f"{len(rows)} user(s):", ("jid", "admin", "enabled", "transports"), rows)


async def users_add(context: Context, values: Values) -> Result:
    named = [t.strip() for t in str(values.get("transports") or "").replace(",", " ").split() if t.strip()]
    try:
        transports = check_transports(named, context.transports)
        record = await add_user(context.store, str(values["jid"]), admin=bool(values.get("admin", False)),
                                transports=transports)
    except AdminError as error:
        raise CommandError(str(error)) from None
    context.forget(record.jid)
    return Result(f"Added {record.jid}{' (admin)' if record.is_admin else ''}; transports: "
                  f"{', '.join(sorted(record.transports))}.")


async def users_remove(context: Context, values: Values) -> Result:
    jid = _jid(values)
    transport = str(values.get("transport") or "").strip() or None
    try:
        if transport is not None:
            check_transports([transport], context.transports)
        gone = await remove_user(context.store, jid, transport)
    except AdminError as error:
        raise CommandError(str(error)) from None
    context.forget(jid)
    context.notify.contacts_changed()
    if gone or transport == context.transport.name:
        context.notify.unregistered(jid)
    if transport is None:
        return Result(f"Removed {jid} with their bindings, contacts and message journal.")
    return Result(f"Removed {jid} from {transport} with their bindings, contacts and message journal there"
                  + ("; it was their last transport, so the user is gone." if gone else "."))


async def _update(context: Context, jid: str, *, is_admin: bool | None = None, enabled: bool | None = None
                  ) -> Result:
    try:
        record = await context.store.users.update(jid, is_admin=is_admin, enabled=enabled)
    except UserNotFound:
        raise CommandError(f"{jid} is not a user") from None
    context.forget(jid)
    return Result(f"{record.jid}: admin {_yes(record.is_admin)}, enabled {_yes(record.enabled)}.")


async def users_enable(context: Context, values: Values) -> Result:
    return await _update(context, _jid(values), enabled=True)


async def users_disable(context: Context, values: Values) -> Result:
    return await _update(context, _jid(values), enabled=False)


async def users_admin(context: Context, values: Values) -> Result:
    return await _update(context, _jid(values), is_admin=bool(values["admin"]))


# -- contacts of any user ---------------------------------------------------------------------------------
async def contacts_list(context: Context, values: Values) -> Result:
    jid = _jid(values)
    records = await context.store.contacts.find(jid, context.transport.name)
    return contacts_result(context, jid, [(r.address, r.name, r.group) for r in records])


async def add_contact(context: Context, jid: str, values: Values) -> Result:
    address = contact_address(context, str(values["address"]))
    name = str(values["name"])
    group = str(values["group"]) if values.get("group") else None
    try:
        await context.store.contacts.add(jid, context.transport.name, address, name, group)
    except UserNotFound:
        raise CommandError(f"{jid} is not a user") from None
    except ContactExists:
        raise CommandError(f"{jid} already has the contact {address}.") from None
    context.notify.contacts_changed()
    return Result(f"Added {name} ({address}) to the contacts of {jid}.")


async def remove_contact(context: Context, jid: str, values: Values) -> Result:
    address = contact_address(context, str(values["address"]))
    try:
        await context.store.contacts.remove(jid, context.transport.name, address)
    except ContactNotFound:
        raise CommandError(f"{jid} has no contact {address}.") from None
    context.notify.contacts_changed()
    return Result(f"Removed {address} from the contacts of {jid}.")


async def contacts_add(context: Context, values: Values) -> Result:
    return await add_contact(context, _jid(values), values)


async def contacts_remove(context: Context, values: Values) -> Result:
    return await remove_contact(context, _jid(values), values)


ADMIN_COMMANDS: tuple[Command, ...] = (
    Command("admin/users/list", "List users",
            "Every user of the gateway, with the admin and enabled flags and the transports they belong to.",
            Access.ADMIN, users_list, words=("users",)),
    Command("admin/users/add", "Add a user",
            "Add a user for some transports (all configured ones if none is named): they may then use those, also "
            "when closed. An existing user is added to the transports they are not a member of.",
            Access.ADMIN, users_add,
            (USER_JID, Field("admin", "Admin", FieldType.BOOLEAN, required=False, default=False),
             Field("transports", "Transports, e.g. sms irc (empty: all configured)", required=False, rest=True)),
            words=("user-add",)),
    Command("admin/users/remove", "Remove a user",
            "Remove a user with all their data: bindings, contacts and message journal; or, with a transport, only "
            "from that transport with their data there (the user goes with their last transport).",
            Access.ADMIN, users_remove,
            (USER_JID, Field("transport", "Transport (empty: every transport)", required=False)),
            words=("user-remove",)),
    Command("admin/users/enable", "Enable a user", "Let a disabled user use the gateway again.",
            Access.ADMIN, users_enable, (USER_JID,), words=("user-enable",)),
    Command("admin/users/disable", "Disable a user", "Keep a user's data but refuse their messages.",
            Access.ADMIN, users_disable, (USER_JID,), words=("user-disable",)),
    Command("admin/users/admin", "Set the admin flag", "Make a user an admin of the gateway, or not.",
            Access.ADMIN, users_admin, (USER_JID, Field("admin", "Admin", FieldType.BOOLEAN)),
            words=("user-admin",)),
    Command("admin/contacts/list", "List a user's contacts", "The contacts mapped into a user's roster here.",
            Access.ADMIN, contacts_list, (USER_JID,), words=("user-contacts",)),
    Command("admin/contacts/add", "Add a contact for a user",
            "Map an address into a user's roster under a name (and a group).",
            Access.ADMIN, contacts_add, (USER_JID, ADDRESS, NAME, GROUP), words=("user-contact-add",)),
    Command("admin/contacts/remove", "Remove a contact of a user", "Remove a mapped contact from a user's roster.",
            Access.ADMIN, contacts_remove, (USER_JID, ADDRESS), words=("user-contact-remove",)),
)
