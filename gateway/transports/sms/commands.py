"""The SMS transport's own admin commands: bind, unbind and list the numbers users send from."""

from __future__ import annotations

from typing import Any

from gateway.admin.users import AdminError
from gateway.commands.command import Access, Command, CommandError, Context, Field, FieldType, Result, Values
from gateway.commands.fields import USER_JID
from gateway.transports.sms import admin as sms_admin
from gateway.transports.sms.settings import SmsSettings

NUMBER = Field("number", "Phone number (one of your Twilio numbers)")


def _settings(context: Context) -> SmsSettings | None:
    settings: Any = context.transport.settings
    return settings if isinstance(settings, SmsSettings) else None


async def bind(context: Context, values: Values) -> Result:
    try:
        record, added = await sms_admin.bind(context.store, context.transport.name, str(values["jid"]),
                                             str(values["number"]), _settings(context),
                                             default=bool(values.get("default", False)))
    except AdminError as error:
        raise CommandError(str(error)) from None
    note = " (added as a new user)" if added else ""
    default = ", the default" if record.is_default else ""
    return Result(f"Bound {record.address} to {record.jid}{default}{note}.")


async def unbind(context: Context, values: Values) -> Result:
    try:
        number = await sms_admin.unbind(context.store, context.transport.name, str(values["jid"]),
                                        str(values["number"]), _settings(context))
    except AdminError as error:
        raise CommandError(str(error)) from None
    return Result(f"Unbound {number} from {values['jid']}.")


async def bindings(context: Context, values: Values) -> Result:
    jid = str(values["jid"]) if values.get("jid") else None
    try:
        records = await sms_admin.list_bindings(context.store, context.transport.name, jid)
    except AdminError as error:
        raise CommandError(str(error)) from None
    if not records:
        return Result("No numbers are bound" + (f" to {jid}." if jid else "."))
    rows = tuple((r.jid, r.address, "yes" if r.is_default else "no") for r in records)
    return Result(f"{len(rows)} binding(s):", ("jid", "number", "default"), rows)


COMMANDS: tuple[Command, ...] = (
    Command("admin/sms/bind", "Bind an SMS number", "Bind a number to a user (added if needed): they text from it.",
            Access.ADMIN, bind,
            (USER_JID, NUMBER, Field("default", "Default number", FieldType.BOOLEAN, required=False, default=False)),
            words=("sms-bind",)),
    Command("admin/sms/unbind", "Unbind an SMS number", "Take a number away from a user.",
            Access.ADMIN, unbind, (USER_JID, NUMBER), words=("sms-unbind",)),
    Command("admin/sms/list", "List SMS bindings", "Numbers bound to users (all, or one user's).",
            Access.ADMIN, bindings, (Field("jid", "User JID (empty: all)", FieldType.JID, required=False),),
            words=("sms-bindings",)),
)
