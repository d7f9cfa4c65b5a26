"""The one error-stanza builder, and stanza error conditions as a checked type."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path
from typing import get_args

from slixmpp import ComponentXMPP
from slixmpp.stanza.error import Error

from gateway.core.events import ErrorCondition, as_error_condition
from gateway.xmpp.bounce import MAX_TEXT, bounce, error_text, error_type

STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas"


async def test_bounce_builds_an_error_of_the_given_kind_with_the_condition_and_its_usual_type() -> None:
    xmpp = ComponentXMPP("sms.localhost", "secret", "127.0.0.1", 5347)
    reply = bounce(xmpp, "iq", id="q1", to="alice@localhost/phone", sender="+15551234567@sms.localhost",
                   condition="resource-constraint", text="Too many requests.")
    assert (reply["type"], reply["id"], str(reply["to"]), str(reply["from"])) == (
        "error", "q1", "alice@localhost/phone", "+15551234567@sms.localhost")
    error = reply.xml.find("{jabber:client}error")
    assert error is not None and error.get("type") == "wait"
    assert error.find(f"{{{STANZAS}}}resource-constraint") is not None
    assert error.findtext(f"{{{STANZAS}}}text") == "Too many requests."


async def test_bounce_answers_nothing_to_an_address_that_is_no_jid() -> None:
    xmpp = ComponentXMPP("sms.localhost", "secret", "127.0.0.1", 5347)
    assert bounce(xmpp, "message", id="m1", to="a@@b", sender="sms.localhost", condition="forbidden",
                  text="no") is None


async def test_a_text_longer_than_the_bound_is_cut() -> None:
    xmpp = ComponentXMPP("sms.localhost", "secret", "127.0.0.1", 5347)
    quoted = "x" * (MAX_TEXT * 100)
    reply = bounce(xmpp, "message", id="m1", to="alice@localhost", sender="sms.localhost", condition="forbidden",
                   text=quoted)
    assert reply["error"]["text"] == "x" * (MAX_TEXT - 1) + "\u2026"
    xml = error_text("message", id="m1", to="alice@localhost", sender="sms.localhost", condition="forbidden",
                     text=quoted)
    assert "x" * (MAX_TEXT - 1) + "\u2026</text>" in xml and len(xml) < MAX_TEXT + 300


def test_slixmpp_writes_every_condition_we_may_use() -> None:
    # It writes feature-not-implemented in place of a condition it does not know (policy-violation is RFC 6120's).
    assert set(get_args(ErrorCondition)) <= Error.conditions


def test_error_text_writes_the_same_error_as_text() -> None:
    xml = error_text("presence", id="p1", to="alice@localhost", sender="#a%net@irc.localhost",
                     condition="policy-violation", text="<no>")
    assert xml == ('<presence to="alice@localhost" from="#a%net@irc.localhost" type="error" id="p1">'
                   f'<error type="modify"><policy-violation xmlns="{STANZAS}"/>'
                   f'<text xmlns="{STANZAS}">&lt;no&gt;</text></error></presence>')


def test_each_condition_has_its_usual_type() -> None:
    assert [error_type(c) for c in ("jid-malformed", "forbidden", "recipient-unavailable", "item-not-found")] == [
        "modify", "auth", "wait", "cancel"]


def test_a_condition_read_back_as_text_is_narrowed_to_a_known_one() -> None:
    assert as_error_condition("item-not-found") == "item-not-found"
    assert as_error_condition("forbiden") == "undefined-condition"  # a stanza may carry only RFC 6120's
    assert as_error_condition("") == as_error_condition(None) == "undefined-condition"


def test_a_misspelt_condition_or_type_is_a_type_error(tmp_path: Path) -> None:
    program = textwrap.dedent("""
        from gateway.core.events import Refusal
        from gateway.transports.sms.errors import TwilioErrorInfo
        from gateway.xmpp.bounce import error_text
        Refusal("forbiden", "x")
        TwilioErrorInfo(1, "item-not-fund", "cancel", "x")
        error_text("message", id=None, to="a@b", sender="c@d", condition="not-acceptible", text="x")
        error_text("message", id=None, to="a@b", sender="c@d", condition="not-acceptable", text="x", etype="later")
        Refusal("forbidden", "a correct one")
    """)
    result = subprocess.run([sys.executable, "-m", "mypy", "--config-file=", "--cache-dir", str(tmp_path),
                             "--no-error-summary", "-c", program], capture_output=True, text=True, timeout=300)
    flagged = sorted({int(line.split(":")[1]) for line in result.stdout.splitlines() if ": error:" in line})
    assert flagged == [5, 6, 7, 8], result.stdout
