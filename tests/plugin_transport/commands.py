"""The pager transport's own commands: a user picks their tone; an admin lists everyone's."""

from __future__ import annotations

from gateway.commands.command import Access, Command, CommandError, Context, Field, FieldType, Result, Values
from tests.plugin_transport import tones


async def set_tone(context: Context, values: Values) -> Result:
    try:
        await tones.set_tone(context.store, context.jid, str(values["tone"]))
    except tones.NoSuchUser:
        raise CommandError(f"{context.jid} is not a user here.") from None
    return Result(f"Your tone is {values['tone']}.")


async def list_tones(context: Context, values: Values) -> Result:
    rows = tuple(await tones.all_tones(context.store))
    return Result(f"{len(rows)} tone(s):", ("jid", "tone"), rows)


COMMANDS: tuple[Command, ...] = (
    Command("pager/tone", "Set my tone", "The tone your pages are answered with.", Access.USER, set_tone,
            (Field("tone", "Tone", FieldType.LIST, options=("beep", "chirp", "buzz")),), words=("pager-tone",),
            needs_user=True),
    Command("admin/pager/tones", "List tones", "Every user's tone.", Access.ADMIN, list_tones,
            words=("pager-tones",)),
)
