"""User commands: each works on the caller's own data only (the context's JID), never on anyone else's."""

from __future__ import annotations

from gateway.commands.command import Access, Command, CommandError, Context, Field, FieldType, Result, Values
from gateway.store.users import UserNotFound
from gateway.xmpp.admin_commands import ADDRESS, GROUP, NAME, add_contact, contacts_result, remove_contact

CONFIRM = Field("confirm", "Delete everything", FieldType.BOOLEAN, required=False, default=False)


async def my_contacts(context: Context, values: Values) -> Result:
    records = await context.store.contacts.find(context.jid, context.transport.name)
    return contacts_result(context, context.jid, [(r.address, r.name, r.group) for r in records])


async def my_contact_add(context: Context, values: Values) -> Result:
    return await add_contact(context, context.jid, values)


async def my_contact_remove(context: Context, values: Values) -> Result:
    return await remove_contact(context, context.jid, values)


async def my_bindings(context: Context, values: Values) -> Result:
    bindings = await context.store.bindings.find(context.transport.name, context.jid)
    if not bindings:
        return Result(f"No address on {context.transport.settings.jid} is bound to you. Only an admin can bind one.")
    rows = tuple((b.address, "yes" if b.is_default else "no") for b in bindings)
    return Result(f"Your addresses on {context.transport.settings.jid}:", ("address", "default"), rows)


async def unregister(context: Context, values: Values) -> Result:
    domain = context.transport.settings.jid
    if not values.get("confirm"):
        raise CommandError(f"Nothing was deleted. To leave {domain} and delete your contacts, bindings, settings "
                           "and message history here, confirm (as chat text: unregister yes).")
    try:
        # Open and allowlist transports let users without membership keep data here: it goes just the same.
        gone = await context.store.users.leave(context.jid, context.transport.name, member_only=False)
    except UserNotFound:
        raise CommandError(f"{context.jid} is not registered with {domain}.") from None
    context.forget(context.jid)
    context.notify.contacts_changed()
    context.notify.unregistered(context.jid)
    rest = " You used no other transport here, so your account is deleted too." if gone else ""
    return Result(f"You are unregistered from {domain}: your contacts, bindings (e.g. numbers an admin bound to "
                  f"you), settings and message history here are deleted.{rest}")


USER_COMMANDS: tuple[Command, ...] = (
    Command("contacts", "My contacts", "The contacts mapped into your roster by this gateway.",
            Access.USER, my_contacts, words=("contacts",), needs_user=True),
    Command("contacts/add", "Add a contact", "Add a contact to your roster under a name.",
            Access.USER, my_contact_add, (ADDRESS, NAME, GROUP), words=("add",), needs_user=True),
    Command("contacts/remove", "Remove a contact", "Remove one of your contacts.",
            Access.USER, my_contact_remove, (ADDRESS,), words=("remove",), needs_user=True),
    Command("bindings", "My numbers", "The addresses (e.g. SMS numbers) an admin bound to you here.",
            Access.USER, my_bindings, words=("numbers", "bindings"), needs_user=True),
    Command("unregister", "Unregister",
            "Leave this transport, deleting your data here: contacts, bindings (numbers an admin bound to you; only an "
            "admin can bind them again), settings and message history. Other transports keep theirs.",
            Access.USER, unregister, (CONFIRM,),
            words=("unregister",), needs_user=True),
)
