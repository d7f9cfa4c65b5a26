"""The sandbox's "phone" page: per phone number, the conversation with the gateway, and forms to reply.

Stable hooks for scripts and browsers: each phone is `<section class="phone" id="phone-<digits>"
data-number="+E164">`; its texts are `<li class="text from-gateway|to-gateway" data-sid data-from data-to
data-status>` with the text in `.body`; its reply form is `#reply-form-<digits>` (fields `To`, `Body`, button
`#reply-send-<digits>`). The form for any number is `#reply-form` with `#reply-from`, `#reply-to`, `#reply-body`,
`#reply-media`, `#reply-send`; the outcome of the last reply is `#reply-status` (`data-result`). The page reloads
itself when something changes, unless a field has been typed in.
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gateway.transports.sms.sandbox.server import SandboxMessage, SmsSandbox

_STYLE = """
body { font-family: sans-serif; max-width: 48rem; margin: 1rem auto; padding: 0 1rem; }
section.phone { border: 1px solid #bbb; border-radius: .5rem; padding: .5rem 1rem; margin: 1rem 0; }
ol.texts { list-style: none; padding: 0; }
li.text { margin: .3rem 0; padding: .3rem .6rem; border-radius: .6rem; max-width: 80%; }
li.from-gateway { background: #e8e8e8; }
li.to-gateway { background: #cfe3ff; margin-left: auto; text-align: right; }
.meta { display: block; font-size: .75rem; color: #555; }
.body { white-space: pre-wrap; }
form input[name=Body] { width: 60%; }
"""

# Reload when the sandbox's version changes, but never under someone who is typing.
_SCRIPT = """
let dirty = false;
document.addEventListener("input", () => { dirty = true; });
setInterval(async () => {
  if (dirty) return;
  try {
    const answer = await fetch("/sandbox/version");
    const { version } = await answer.json();
    if (version !== Number(document.body.dataset.version)) location.reload();
  } catch (error) { /* the sandbox stopped */ }
}, 1000);
"""


def _digits(number: str) -> str:
    return number.lstrip("+")


def _conversations(sandbox: SmsSandbox) -> dict[str, list[SandboxMessage]]:
    phones: dict[str, list[SandboxMessage]] = {}
    for message in sandbox.messages:
        phone = message.to if message.direction == "outbound-api" else message.from_
        phones.setdefault(phone, []).append(message)
    return phones


def _text(message: SandboxMessage) -> str:
    outbound = message.direction == "outbound-api"
    css = "from-gateway" if outbound else "to-gateway"
    when = message.date_created.strftime("%H:%M:%S")
    meta = f"{'from' if outbound else 'to'} {message.from_ if outbound else message.to}, {when}, {message.status}"
    if message.error_code is not None:
        meta += f" (error {message.error_code})"
    media = "".join(
        f'<a class="media" href="{escape(url)}">{escape(url)}</a> ' for url in message.media
    )
    return (
        f'<li class="text {css}" data-sid="{message.sid}" data-from="{escape(message.from_)}" '
        f'data-to="{escape(message.to)}" data-status="{escape(message.status)}">'
        f'<span class="meta">{escape(meta)}</span><span class="body">{escape(message.body)}</span>{media}</li>'
    )


def _reply_target(messages: list[SandboxMessage], fallback: str) -> str:
    """The gateway number this phone last talked with."""
    if not messages:
        return fallback
    last = messages[-1]
    return last.from_ if last.direction == "outbound-api" else last.to


def _phone(number: str, messages: list[SandboxMessage], fallback: str) -> str:
    digits = escape(_digits(number))
    texts = "\n".join(_text(message) for message in messages)
    target = escape(_reply_target(messages, fallback))
    return f"""
<section class="phone" id="phone-{digits}" data-number="{escape(number)}">
  <h2>{escape(number)}</h2>
  <ol class="texts">
{texts}
  </ol>
  <form class="reply" id="reply-form-{digits}" method="post" action="/phone/reply">
    <input type="hidden" name="From" value="{escape(number)}">
    <label>to <input name="To" id="reply-to-{digits}" value="{target}" list="gateway-numbers" size="16"></label>
    <input name="Body" id="reply-body-{digits}" placeholder="Reply from {escape(number)}" autocomplete="off">
    <button type="submit" id="reply-send-{digits}">Send</button>
  </form>
</section>"""


def render_page(sandbox: SmsSandbox, result: str | None = None, detail: str = "") -> str:
    gateway_numbers = sandbox.gateway_numbers()
    first = gateway_numbers[0] if gateway_numbers else ""
    options = "".join(f'<option value="{escape(number)}">' for number in gateway_numbers)
    phones = "\n".join(
        _phone(number, messages, first) for number, messages in _conversations(sandbox).items()
    )
    status = ""
    if result:
        status = (
            f'<p id="reply-status" data-result="{escape(result)}">Last reply: {escape(result)} {escape(detail)}</p>'
        )
    return f"""<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>SMS sandbox: the phone</title><style>{_STYLE}</style></head>
<body data-version="{sandbox.version}">
<h1>SMS sandbox: the phone</h1>
<p>Account <code id="account-sid">{escape(sandbox.account_sid)}</code>; API at <code>{escape(sandbox.url)}</code>.
Texts the gateway sent appear under each number, newest last.</p>
{status}
<datalist id="gateway-numbers">{options}</datalist>
<form id="reply-form" method="post" action="/phone/reply">
  <h2>Text the gateway from any number</h2>
  <label>from <input name="From" id="reply-from" placeholder="+12025550123" size="16" autocomplete="off"></label>
  <label>to <input name="To" id="reply-to" value="{escape(first)}" list="gateway-numbers" size="16"></label>
  <input name="Body" id="reply-body" placeholder="Text" autocomplete="off">
  <input name="MediaUrl" id="reply-media" placeholder="media URL (optional)" autocomplete="off">
  <button type="submit" id="reply-send">Send</button>
</form>
<div id="phones">
{phones or '<p id="no-texts">No texts yet.</p>'}
</div>
<script>{_SCRIPT}</script>
</body>
</html>
"""
