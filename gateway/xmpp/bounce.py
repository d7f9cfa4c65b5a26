"""The one builder of error stanzas: built afresh from the id, the addresses and the error, never a copy of what
was received. Conditions and types are checked Literals (core.events.ErrorCondition, ErrorType).

RFC 6120 8.3.1 lets an error carry the original payload; we never do: the payload is untrusted (slixmpp would write
a namespace value like `urn:x:a"b` unescaped and cut the stream, and copying a deeply nested tree raises
RecursionError), and the sender has it already.
"""

from __future__ import annotations

import logging
from typing import Any

from slixmpp import JID
from slixmpp.jid import InvalidJID
from slixmpp.stanza.error import Error

from gateway.core.events import ErrorCondition, ErrorType
from gateway.xmpp.stanza_text import attribute
from gateway.xmpp.stanza_text import text as escape

log = logging.getLogger(__name__)

STANZA_ERRORS = "urn:ietf:params:xml:ns:xmpp-stanzas"

# slixmpp's stanza errors know RFC 3920's conditions, and silently write feature-not-implemented for any other:
# RFC 6120 added policy-violation (8.3.3.12), which refusals here use (e.g. too many IRC channels).
Error.conditions = Error.conditions | {"policy-violation"}

# RFC 6120 8.3.3: the type each condition usually has.
_TYPES: dict[ErrorCondition, ErrorType] = {
    "bad-request": "modify", "jid-malformed": "modify", "not-acceptable": "modify", "policy-violation": "modify",
    "forbidden": "auth", "not-authorized": "auth", "registration-required": "auth",
    "resource-constraint": "wait", "recipient-unavailable": "wait", "remote-server-timeout": "wait"}


# An error's text may quote what was received; past this it is cut. A 120,000-character prompt quoted whole made an
# error of 720 KB (every quote mark written as &quot;), which the server refused by closing the component's stream.
MAX_TEXT = 1000


def _bounded(text: str) -> str:
    return text if len(text) <= MAX_TEXT else text[:MAX_TEXT - 1] + "\u2026"


def error_type(condition: ErrorCondition) -> ErrorType:
    return _TYPES.get(condition, "cancel")


def bounce(xmpp: Any, kind: str, *, id: str | None, to: JID | str, sender: JID | str, condition: ErrorCondition,
           text: str, etype: ErrorType | None = None) -> Any:
    """An error `kind` stanza (message, presence or iq) with `id`, to `to` from `sender`; None when an address is
    no JID (nothing can be answered then)."""
    try:
        to_jid, from_jid = JID(to), JID(sender)
    except InvalidJID:
        log.warning("cannot answer a %s with an invalid address (%r -> %r)", kind, sender, to)
        return None
    if kind == "iq":
        reply = xmpp.make_iq(ito=to_jid, ifrom=from_jid, id=id or "", itype="error")
    elif kind == "message":
        reply = xmpp.make_message(mto=to_jid, mfrom=from_jid, mtype="error")
        reply["id"] = id or ""
    else:
        reply = xmpp.make_presence(pto=to_jid, pfrom=from_jid, ptype="error")
        reply["id"] = id or ""
    reply["error"]["type"] = etype or error_type(condition)
    reply["error"]["condition"] = condition
    reply["error"]["text"] = _bounded(text)
    return reply


def answer_error(xmpp: Any, stanza: Any, condition: ErrorCondition, text: str, etype: ErrorType | None = None
                 ) -> None:
    """Send the error reply to a received stanza (see `bounce`); errors and IQ results are never answered (RFC 6120
    8.2.3, 8.3.1)."""
    if stanza.xml.get("type") in ("error", "result"):
        return
    reply = bounce(xmpp, stanza.name, id=stanza.xml.get("id"), to=stanza.xml.get("from", ""),
                   sender=stanza.xml.get("to", ""), condition=condition, text=text, etype=etype)
    if reply is not None:
        reply.send()


def error_condition(stanza: Any) -> str | None:
    """The condition of a received error stanza, as text (foreign input may name anything). Read from the XML:
    slixmpp's error plugin looks for the error element in jabber:client and, on a component stream
    (jabber:component:accept), makes an empty one instead."""
    for element in stanza.xml:
        if element.tag.endswith("}error"):
            for child in element:
                namespace, _, name = str(child.tag)[1:].partition("}")
                if namespace == STANZA_ERRORS and name != "text":
                    return name
    return None


def error_text(kind: str, *, id: str | None, to: str, sender: str, condition: ErrorCondition, text: str,
               etype: ErrorType | None = None) -> str:
    """An error stanza written as text: for an address that the server took and slixmpp's JID refuses (its
    stringprep is stricter, e.g. about code points Unicode 3.2 did not assign), which no stanza object can hold."""
    id_xml = f" id={attribute(id)}" if id else ""
    return (f"<{kind} to={attribute(to)} from={attribute(sender)} type=\"error\"{id_xml}>"
            f"<error type={attribute(etype or error_type(condition))}><{condition} xmlns=\"{STANZA_ERRORS}\"/>"
            f"<text xmlns=\"{STANZA_ERRORS}\">{escape(_bounded(text))}</text></error></{kind}>")
