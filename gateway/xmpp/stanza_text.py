"""Room stanzas written as text: messages and occupant presences, sent once per line or change and joined resource.

slixmpp builds each stanza as an element tree and serialises it with namespace fix-ups; for these few fixed
shapes that costs several times the text itself (profiles of the benchmark put it first), and a join storm of N
users in a room of N queues N*N of them (a text is a tenth of a stanza object in memory). Everything else is
built with slixmpp. The component stream's default namespace is jabber:component:accept, so a top-level
<message> needs no xmlns (as slixmpp writes it too).
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime

from slixmpp import JID
from slixmpp.plugins.xep_0082 import format_datetime

from gateway.core.text import clean
from gateway.xmpp.addressing import resource_part

SID_NS = "urn:xmpp:sid:0"
MUC_USER_X = '<x xmlns="http://jabber.org/protocol/muc#user"/>'


@functools.lru_cache(maxsize=1024)
def text(value: str) -> str:
    # Cached: a line said in a room is written once per member who reads it.
    # str.replace in a chain: several times faster than xml.sax.saxutils.escape's loop over a mapping.
    return clean(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def attribute(value: str) -> str:
    return '"' + text(value).replace('"', "&quot;") + '"'


@functools.lru_cache(maxsize=4096)
def full_jid(bare: str, nick: str) -> str:
    """`bare/nick` as slixmpp would write it, the nick mapped to a resource (xmpp.addressing)."""
    return str(JID(f"{bare}/{resource_part(nick)}")) if nick else str(JID(bare))


def message(*, to: str, sender: str, kind: str, id: str | None, body: str, payload: str = "") -> str:
    """A <message> with a body (left out when empty, as slixmpp does) and `payload` (already written XML); no id
    attribute when `id` is None."""
    body_xml = f"<body>{text(body)}</body>" if body else ""
    id_xml = f" id={attribute(id)}" if id is not None else ""
    return (f"<message to={attribute(to)} from={attribute(sender)} type={attribute(kind)}{id_xml}>"
            f"{body_xml}{payload}</message>")


def ping(*, id: str, to: str, sender: str) -> str:
    """An XEP-0199 ping (an iq get)."""
    return (f"<iq type='get' id={attribute(id)} to={attribute(to)} from={attribute(sender)}>"
            "<ping xmlns='urn:xmpp:ping'/></iq>")


def stanza_id(id: str, by: str) -> str:
    return f'<stanza-id xmlns="{SID_NS}" id={attribute(id)} by={attribute(by)}/>'


def origin_id(id: str) -> str:
    return f'<origin-id xmlns="{SID_NS}" id={attribute(id)}/>'


def delay(stamp: datetime, by: str | None = None) -> str:
    if stamp.tzinfo is None:
        raise ValueError(f"a delay stamp needs a time zone: {stamp}")
    sender = f" from={attribute(by)}" if by is not None else ""
    return f'<delay xmlns="urn:xmpp:delay"{sender} stamp="{format_datetime(stamp.astimezone(UTC))}"/>'
