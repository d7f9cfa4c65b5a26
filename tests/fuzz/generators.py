"""Hostile inputs for each boundary, each case drawn from its own seeded random.Random (see harness.rng_for).

- `xmpp_case`: one well-formed stanza (rarely two) as raw XML for mallory's client stream: messages, presences
  and IQs of valid and invalid types, odd ids, every XML-legal odd character, huge texts, deep nesting, many
  elements, unknown namespaces (some whose value needs escaping), odd attributes, XEP-0106 escapes and odd
  resources in `to`, and the payloads each component serves (disco, ping, version, ad-hoc commands,
  registration, jabber:iq:gateway) or does not.
- `http_case`: one request to the gateway's web server (any route, method, headers, content type and body;
  signed with the sandbox's auth token or not).
- `irc_case`: one to three raw lines a hostile IRC server sends to alice's connection, or a channel for alice to
  join whose NAMES reply (and topic) hold odd nicks (and text).

What Prosody itself refuses from a client (not-well-formed XML, restricted XML, oversized stanzas) is never
generated: such an input would only close mallory's stream, never reach the gateway.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote, urlencode

from tests.fuzz.harness import SEED, Case, rng_for

# -- strings ----------------------------------------------------------------------------------------------------

_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")

ODD_PIECES: tuple[str, ...] = (
    "hello", "", " ", "  x  ", "\ufffd", "\u200e", "\u200f", "\u202e", "\u202d", "\u2066x\u2069", "\u061c",
    "\u200b", "\ufeff", "\u2060", "e" + "\u0301" * 40, "Z\u0351\u0352\u0357\u0310\u0307\u0353", "\U0001f600",
    "\U0001f468\u200d\U0001f469\u200d\U0001f467", "\U0010fffd", "\U000e0041\U000e007f", "\U0001d400",
    "\x85", "\x80", "\x9f", "\x9b[31m", "\ufdd0", "\t", "\n", "\r", "\r\n", "\u2028", "\u2029", "\u00a0",
    "\u3000", "<", ">", "&", '"', "'", "]]>", "&amp;", "<![CDATA[x]]>", "\\", "\\20", "\\5c", "%", "@", "/",
    "#", ":", "+14155552671", "\u00b9\u00b2\u00b3", "\u0661\u0662\u0663", "\uff11\uff12\uff13",
    "\u20ac[]^{}~|\\", "\u05e9\u05dc\u05d5\u05dd", "bob\u05e9\u05dc\u05d5\u05dd", "\u01c4", "\ufb00", "\u0130",
    "\u00df", "\r\nQUIT :bye", "\nPRIVMSG #check :injected", "/me dances", "/quit now", "help", "contacts",
    "numbers", "add +14155552671 Mom", "remove +14155552671", "x" * 600, "word " * 200, "\U0001f600" * 100,
    "\n" * 50, "NaN", "-1", "99999999999999999999", "0x10", "\u00e9t\u00e9", "\u0639\u0631\u0628\u064a",
    "\u4e2d\u6587", "%00", "%s%n", "{0}", "${x}", "'; DROP TABLE journal; --", "\\u0000", "&#0;",
)

# Rare, big: each stays below Prosody's 256 KiB client stanza limit once escaped as we send it.
HUGE: tuple[Callable[[], str], ...] = (
    lambda: '"' * 120_000,  # 120 KB from the client, 720 KB once a server writes each as &quot;
    lambda: "&" * 40_000,
    lambda: "a" * 150_000,
    lambda: "\n" * 20_000,
    lambda: "\U0001f600" * 40_000,
    lambda: "<" * 40_000,
    lambda: "\u00e9" * 60_000,
    lambda: "x" * 1601,  # one past the usual SMS ceiling of 1,600 characters
    lambda: "word " * 20_000,
)


def xml_legal(value: str) -> str:
    """What XML 1.0 cannot carry, replaced by U+FFFD (the generators only write well-formed XML)."""
    return _XML_ILLEGAL.sub("\ufffd", value)


def odd_string(rng: random.Random, huge: float = 0.0) -> str:
    """A string of 1-5 odd pieces; with probability `huge`, one of the huge ones."""
    if huge and rng.random() < huge:
        return rng.choice(HUGE)()
    return "".join(rng.choice(ODD_PIECES) for _ in range(rng.choice((1, 1, 1, 2, 3, 5))))


def text(value: str) -> str:
    """Character data: escaped, a CR kept as a reference (a parser would turn a raw one into LF)."""
    return (xml_legal(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace("\r", "&#13;"))


def attr(value: str) -> str:
    """A quoted attribute value; tab, CR and LF as references so that they survive normalisation."""
    escaped = (xml_legal(value).replace("&", "&amp;").replace("<", "&lt;").replace("'", "&apos;")
               .replace("\t", "&#9;").replace("\n", "&#10;").replace("\r", "&#13;"))
    return f"'{escaped}'"


# -- addresses --------------------------------------------------------------------------------------------------

LOOPBACK, SMS, IRC = "loopback.localhost", "sms.localhost", "irc.localhost"
NETWORK = "test"

# XEP-0106 escapes (and a few strings that only look like them) as they appear in a JID's localpart.
ESCAPED_LOCALS = ("d\\27artagnan", "a\\20b", "\\40home", "x\\5cy", "a\\2fb", "\\3cscript\\3e", "q\\22q",
                  "amp\\26", "c\\3ad", "\\5c20", "\\2", "\\zz", "\\20lead", "trail\\20", "\\5c")
ODD_RESOURCES = ("nick", "nick with space", "\u200e", "\u202eevil", "\u00fcn\u00efc\u00f8d\u00e9", "\U0001f600",
                 "a/b/c", "x" * 1000, "\x85c1", "bob\u05e9\u05dc\u05d5\u05dd", "\u0301", "@", "%", "#chan",
                 "\u00a0", "\\20", "alice", "bob", "mallory", " ", "\ufffd", "\u3000")
ODD_NICKS = ("bob", "b\u00f6b", "bob\u05e9\u05dc\u05d5\u05dd", "\u200ebob", "nick with space", "a,b", "a*b",
             "a!b", "#chan", "\U0001f600", "x" * 100, "-dash", "[brackets]", "back\\slash", "`tick", "1digit")
CHANNELS = ("#chan", "#check", "#\u00fcber", "#a\\20b", "##", "#", "&local", "+plus", "!bang", "#x" * 60,
            "#\U0001f600", "#\u202e", "#c,d", "#c\\2fd", "#\u05e9")
NETWORKS = (NETWORK, NETWORK, NETWORK, "unknown", "TEST", "", "t\u00e9st", "127.0.0.1", "test:6667", "x" * 300)
PHONES = ("+12025550123", "+12025550111", "+12025550100", "+14155552671", "12025550123", "+1202555012",
          "+1 202 555 0123", "+1\\20202", "+999999999999999", "+0", "+", "+15005550001", "+15005550009",
          "\uff0b\uff11\uff12\uff10\uff12", "+1\u200e2025550123", "tel:+12025550123", "+44 7911 123456")


def localpart(rng: random.Random, domain: str) -> str:
    """A localpart meant for `domain`'s transport, often well-formed, sometimes not."""
    roll = rng.random()
    if roll < 0.15:
        return rng.choice(ESCAPED_LOCALS)
    if roll < 0.22:
        return odd_string(rng)[:200]
    if domain == LOOPBACK:
        return rng.choice(("echo", "echo", "anyone", "x" * 500, "\u00fc"))
    if domain == SMS:
        return rng.choice(PHONES)
    network = rng.choice(NETWORKS)
    if rng.random() < 0.5:
        return f"{rng.choice(CHANNELS)}%{network}"
    return f"{rng.choice(ODD_NICKS)}%{network}" if rng.random() < 0.8 else network


def jid(rng: random.Random, domain: str | None = None, *, bare_domain: float = 0.3,
        resource: float = 0.2) -> str:
    """A `to` address at one of the components: the domain itself, a contact or room, maybe with a resource."""
    domain = domain or rng.choice((LOOPBACK, SMS, IRC))
    address = domain if rng.random() < bare_domain else f"{localpart(rng, domain)}@{domain}"
    if rng.random() < resource:
        address += "/" + rng.choice(ODD_RESOURCES)
    return address


def room_occupant(rng: random.Random) -> str:
    channel = rng.choice(CHANNELS) if rng.random() < 0.7 else rng.choice(ESCAPED_LOCALS)
    network = NETWORK if rng.random() < 0.8 else rng.choice(NETWORKS)
    return f"{channel}%{network}@{IRC}/{rng.choice(ODD_RESOURCES + ODD_NICKS)}"


# -- XML pieces -------------------------------------------------------------------------------------------------

NAMESPACES = ("urn:fuzz:plain", 'urn:x:a"b', "urn:x:<&>", "urn:x:a'b", "urn:x:\u202e\u200e", "urn:x:" + "n" * 2000,
              "", "jabber:client", "http://etherx.jabber.org/streams", "urn:ietf:params:xml:ns:xmpp-stanzas",
              "http://jabber.org/protocol/disco#info", "jabber:iq:register", "http://jabber.org/protocol/commands",
              "urn:xmpp:ping", "jabber:x:oob", "http://jabber.org/protocol/muc#user", "jabber:x:data",
              "urn:xmpp:receipts", "jabber:iq:gateway", "urn:x:\U0001f600", "urn:x:\t\n",
              # "}" is ElementTree's namespace separator: Prosody forwards such a name, an ET-based parser chokes
              "urn:x:a}b", "urn:{x}")
ELEMENT_NAMES = ("x", "query", "body", "a-b", "\u00fc", "x.y", "_z", "error", "iq", "message", "item", "field")
ATTRIBUTE_NAMES = ("a", "id", "to", "from", "type", "xml:lang", "node", "var", "jid", "b-c", "\u00fc", "code",
                   "xmlns:q", "name", "action")


def attributes(rng: random.Random, most: int = 4) -> str:
    names = rng.sample(ATTRIBUTE_NAMES, rng.randint(0, most))
    parts = []
    for name in names:
        value = odd_string(rng)[:400]
        if name == "xmlns:q":
            value = value or "urn:q"  # a prefix cannot be bound to the empty name
        parts.append(f" {name}={attr(value)}")
    return "".join(parts)


def unknown_element(rng: random.Random) -> str:
    namespace = rng.choice(NAMESPACES)
    if rng.random() < 0.3 and namespace:
        name = rng.choice(("x", "y"))
        return (f"<p:{name} xmlns:p={attr(namespace)} p:a={attr(odd_string(rng)[:100])}>"
                f"{text(odd_string(rng))}</p:{name}>")
    name = rng.choice(ELEMENT_NAMES)
    inner = text(odd_string(rng)) if rng.random() < 0.6 else "".join(
        f"<{rng.choice(ELEMENT_NAMES)}{attributes(rng, 2)}/>" for _ in range(rng.randint(1, 3)))
    return f"<{name} xmlns={attr(namespace)}{attributes(rng)}>{inner}</{name}>"


def deep(rng: random.Random, depth: int | None = None, namespace: str = "urn:fuzz:deep") -> str:
    depth = depth or rng.choice((500, 1000, 2000, rng.randint(500, 2000)))
    name = rng.choice(("x", "a", "query"))
    return (f"<{name} xmlns={attr(namespace)}>" + f"<{name}>" * depth + text(odd_string(rng)[:50])
            + f"</{name}>" * depth + f"</{name}>")


def many(rng: random.Random) -> str:
    count = rng.choice((1000, 2000, 5000))
    if rng.random() < 0.5:
        return "<m xmlns='urn:fuzz:many'>" + "<y/>" * count + "</m>"
    names = " ".join(f"a{i}='{i}'" for i in range(rng.choice((200, 1000))))
    return f"<m xmlns='urn:fuzz:many' {names}/>"


def xdata_form(rng: random.Random, fields: tuple[str, ...] = ()) -> str:
    form_type = rng.choice(("submit", "form", "result", "cancel", "bogus", ""))
    names = [*fields, "FORM_TYPE", "jid", "number", "nick", "network", "name", "address", "confirm", "password",
             "transport", "transports", "admin", "port", "tls", "host", "group"]
    chosen = rng.sample(names, rng.randint(0, min(len(names), 6)))
    if rng.random() < 0.05:
        chosen = [f"f{i}" for i in range(500)]
    out = [f"<x xmlns='jabber:x:data' type={attr(form_type)}>"]
    for var in chosen:
        ftype = rng.choice(("text-single", "boolean", "list-multi", "jid-single", "hidden", "bogus", ""))
        values = "".join(f"<value>{text(odd_string(rng, huge=0.01))}</value>" for _ in range(rng.randint(0, 3)))
        out.append(f"<field var={attr(var)} type={attr(ftype)}>{values}</field>")
    out.append("</x>")
    return "".join(out)


COMMAND_NODES = ("contacts", "contacts/add", "contacts/remove", "bindings", "unregister", "irc/settings", "irc/nick",
                 "irc/sasl", "irc/nickserv", "irc/forget", "admin/users/list", "admin/users/add",
                 "admin/users/remove", "admin/users/admin", "admin/sms/bind", "admin/sms/list",
                 "admin/contacts/add", "admin/irc/networks/add", "http://jabber.org/protocol/commands", "",
                 "nonexistent", "\u202e", "x" * 1000)


def iq_payload(rng: random.Random) -> tuple[str, str]:
    """(label, payload) for an IQ."""
    kind = rng.choice(("disco#info", "disco#items", "ping", "version", "commands", "commands", "register",
                       "register", "gateway", "gateway", "roster", "vcard", "time", "last", "muc#owner",
                       "muc#admin", "mam", "unknown", "none", "two", "deep", "many"))
    node = f" node={attr(rng.choice((*COMMAND_NODES, '', odd_string(rng))))}" if rng.random() < 0.4 else ""
    if kind == "disco#info":
        return kind, f"<query xmlns='http://jabber.org/protocol/disco#info'{node}/>"
    if kind == "disco#items":
        return kind, f"<query xmlns='http://jabber.org/protocol/disco#items'{node}/>"
    if kind == "ping":
        return kind, "<ping xmlns='urn:xmpp:ping'/>"
    if kind == "version":
        inner = f"<name>{text(odd_string(rng))}</name><version>1</version>" if rng.random() < 0.3 else ""
        return kind, f"<query xmlns='jabber:iq:version'>{inner}</query>"
    if kind == "commands":
        action = rng.choice(("execute", "next", "complete", "cancel", "prev", "bogus", ""))
        session = f" sessionid={attr(odd_string(rng)[:200])}" if rng.random() < 0.4 else ""
        form = xdata_form(rng) if rng.random() < 0.5 else ""
        return (f"commands {action}", f"<command xmlns='http://jabber.org/protocol/commands' "
                f"node={attr(rng.choice(COMMAND_NODES))} action={attr(action)}{session}>{form}</command>")
    if kind == "register":
        inner = "".join(f"<{name}>{text(odd_string(rng))}</{name}>"
                        for name in rng.sample(("username", "nick", "password", "email", "x-odd"), rng.randint(0, 3)))
        if rng.random() < 0.15:
            inner += "<remove/>"
        if rng.random() < 0.3:
            inner += xdata_form(rng)
        return kind, f"<query xmlns='jabber:iq:register'>{inner}</query>"
    if kind == "gateway":
        prompts = "".join(f"<prompt>{text(odd_string(rng, huge=0.02))}</prompt>"
                          for _ in range(rng.choice((0, 1, 1, 2))))
        desc = f"<desc>{text(odd_string(rng))}</desc>" if rng.random() < 0.2 else ""
        return kind, f"<query xmlns='jabber:iq:gateway'>{desc}{prompts}</query>"
    if kind == "roster":
        items = "".join(f"<item jid={attr(jid(rng))} name={attr(odd_string(rng))}><group>{text(odd_string(rng))}"
                        "</group></item>" for _ in range(rng.randint(0, 3)))
        return kind, f"<query xmlns='jabber:iq:roster'>{items}</query>"
    if kind == "vcard":
        return kind, "<vCard xmlns='vcard-temp'/>"
    if kind == "time":
        return kind, "<time xmlns='urn:xmpp:time'/>"
    if kind == "last":
        return kind, "<query xmlns='jabber:iq:last'/>"
    if kind == "muc#owner":
        return kind, f"<query xmlns='http://jabber.org/protocol/muc#owner'>{xdata_form(rng)}</query>"
    if kind == "muc#admin":
        item = (f"<item nick={attr(rng.choice(ODD_NICKS))} role={attr(rng.choice(('none', 'visitor', 'bogus')))}"
                f" affiliation={attr(rng.choice(('outcast', 'member', 'x')))}><reason>{text(odd_string(rng))}"
                "</reason></item>")
        return kind, f"<query xmlns='http://jabber.org/protocol/muc#admin'>{item}</query>"
    if kind == "mam":
        return kind, f"<query xmlns='urn:xmpp:mam:2' queryid={attr(odd_string(rng))}>{xdata_form(rng)}</query>"
    if kind == "unknown":
        return kind, unknown_element(rng)
    if kind == "none":
        return kind, ""
    if kind == "two":
        first_label, first = iq_payload(rng)
        second_label, second = iq_payload(rng)
        return f"two: {first_label} + {second_label}", first + second
    if kind == "deep":
        namespace = rng.choice(("http://jabber.org/protocol/disco#info", "jabber:iq:register",
                                "http://jabber.org/protocol/commands", "urn:fuzz:deep", 'urn:x:a"b'))
        return f"deep {namespace}", deep(rng, namespace=namespace)
    return kind, many(rng)


LANGS = ("en", "de", "", "x-\u00e9", "zz-ZZ-" + "q" * 40, "en-US-x-" + "a" * 50)
MESSAGE_TYPES = ("chat", "chat", "chat", "groupchat", "normal", "headline", "error", "", "bogus", "CHAT", None)
PRESENCE_TYPES = (None, None, None, "unavailable", "subscribe", "subscribed", "unsubscribe", "unsubscribed", "probe",
                  "error", "bogus", "")
IQ_TYPES = ("get", "get", "get", "get", "set", "set", "set", "set", "result", "error", "bogus", None)


def odd_id(rng: random.Random) -> str | None:
    roll = rng.random()
    if roll < 0.1:
        return None
    if roll < 0.5:
        return odd_string(rng)[:300]
    return f"id{rng.randrange(10**6)}"


def message_extras(rng: random.Random) -> list[str]:
    extras = []
    for _ in range(rng.choice((0, 0, 1, 1, 2, 3))):
        kind = rng.randrange(16)
        if kind == 0:
            extras.append("<request xmlns='urn:xmpp:receipts'/>")
        elif kind == 1:
            extras.append(f"<received xmlns='urn:xmpp:receipts' id={attr(odd_string(rng))}/>")
        elif kind == 2:
            extras.append(f"<{rng.choice(('active', 'composing', 'paused'))} "
                          "xmlns='http://jabber.org/protocol/chatstates'/>")
        elif kind == 3:
            url = rng.choice(("https://example.org/a.png", "javascript:alert(1)", "data:text/plain,x", "/relative",
                              "http://" + odd_string(rng), "https://x/" + "a" * 5000, ""))
            extras.append(f"<x xmlns='jabber:x:oob'><url>{text(url)}</url><desc>{text(odd_string(rng))}</desc></x>")
        elif kind == 4:
            extras.append(f"<nick xmlns='http://jabber.org/protocol/nick'>{text(odd_string(rng))}</nick>")
        elif kind == 5:
            stamp = rng.choice(("2020-01-01T00:00:00Z", "9999-99-99", "", "0000-00-00T00:00:00Z", odd_string(rng)))
            extras.append(f"<delay xmlns='urn:xmpp:delay' stamp={attr(stamp)}/>")
        elif kind == 6:
            extras.append(f"<origin-id xmlns='urn:xmpp:sid:0' id={attr(odd_string(rng))}/>")
        elif kind == 7:
            extras.append(f"<x xmlns='http://jabber.org/protocol/muc#user'><invite to={attr(jid(rng))}>"
                          f"<reason>{text(odd_string(rng))}</reason></invite><password>{text(odd_string(rng))}"
                          "</password></x>")
        elif kind == 8:
            extras.append("<html xmlns='http://jabber.org/protocol/xhtml-im'><body xmlns='http://www.w3.org/1999/xhtml'>"
                          f"<p style={attr(odd_string(rng))}>{text(odd_string(rng))}</p></body></html>")
        elif kind == 9:
            extras.append(xdata_form(rng))
        elif kind == 10:
            extras.append(f"<thread parent={attr(odd_string(rng))}>{text(odd_string(rng))}</thread>")
        elif kind == 11:
            extras.append(f"<subject>{text(odd_string(rng))}</subject>")
        elif kind == 12:
            extras.append(f"<body xml:lang={attr(rng.choice(LANGS))}>"
                          f"{text(odd_string(rng))}</body>")
        elif kind == 13:
            extras.append("<error type='cancel'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>"
                          f"<text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>{text(odd_string(rng))}</text></error>")
        elif kind == 14:
            extras.append(unknown_element(rng))
        else:
            extras.append(rng.choice((deep, many))(rng))
    return extras


def _stanza(name: str, to: str | None, stype: str | None, ident: str | None, children: list[str],
            extra_attrs: str = "") -> str:
    head = f"<{name}"
    if to is not None:
        head += f" to={attr(to)}"
    if stype is not None:
        head += f" type={attr(stype)}"
    if ident is not None:
        head += f" id={attr(ident)}"
    return head + extra_attrs + ">" + "".join(children) + f"</{name}>"


def _lang(rng: random.Random) -> str:
    return f" xml:lang={attr(rng.choice(LANGS))}" if rng.random() < 0.1 else ""


Tracked = list[tuple[str, str]]  # (id, to) of each IQ get/set that must get exactly one answer


def xmpp_message(rng: random.Random) -> tuple[str, str, Tracked]:
    to = jid(rng) if rng.random() < 0.85 else room_occupant(rng)
    stype = rng.choice(MESSAGE_TYPES)
    children = []
    if rng.random() < 0.75:
        children.append(f"<body>{text(odd_string(rng, huge=0.015))}</body>")
    children += message_extras(rng)
    rng.shuffle(children)
    label = f"message type={stype!r} to {to.split('@')[-1].split('/')[0][:30]}"
    return label, _stanza("message", to, stype, odd_id(rng), children, _lang(rng)), []


def xmpp_presence(rng: random.Random) -> tuple[str, str, Tracked]:
    to = room_occupant(rng) if rng.random() < 0.45 else jid(rng)
    stype = rng.choice(PRESENCE_TYPES)
    children = []
    if rng.random() < 0.3:
        children.append(f"<show>{text(rng.choice(('chat', 'away', 'xa', 'dnd', 'bogus', '', odd_string(rng))))}</show>")
    if rng.random() < 0.4:
        children.append(f"<status>{text(odd_string(rng, huge=0.01))}</status>")
    if rng.random() < 0.2:
        children.append(f"<priority>{text(rng.choice(('5', '-129', 'abc', '99999999999', '', '1.5')))}</priority>")
    if rng.random() < 0.4:
        history = rng.choice(("", "<history maxstanzas='0'/>", "<history maxchars='-1'/>",
                              "<history maxstanzas='abc' since='x'/>", "<history seconds='99999999999999999999'/>"))
        password = f"<password>{text(odd_string(rng))}</password>" if rng.random() < 0.3 else ""
        children.append(f"<x xmlns='http://jabber.org/protocol/muc'>{history}{password}</x>")
    if rng.random() < 0.15:
        children.append(f"<c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node={attr(odd_string(rng))}"
                        f" ver={attr(odd_string(rng))}/>")
    if rng.random() < 0.15:
        children.append(rng.choice((unknown_element, deep, many))(rng))
    label = f"presence type={stype!r} to {to.split('@')[-1][:40]}"
    return label, _stanza("presence", to, stype, odd_id(rng), children, _lang(rng)), []


def xmpp_iq(rng: random.Random, tag: str) -> tuple[str, str, Tracked]:
    roll = rng.random()
    to = rng.choice((LOOPBACK, SMS, IRC)) if roll < 0.55 else (room_occupant(rng) if roll < 0.7 else jid(rng))
    itype = rng.choice(IQ_TYPES)
    payload_label, payload = iq_payload(rng)
    base = odd_id(rng) or ""
    tracked = itype in ("get", "set")
    ident = f"{base}#fz{tag}" if tracked else odd_id(rng)
    stanza = _stanza("iq", to, itype, ident, [payload], _lang(rng))
    label = f"iq {itype} {payload_label} to {to.split('@')[-1][:40]}"
    return label, stanza, [(xml_legal(ident), xml_legal(to))] if tracked and ident is not None else []


MAX_STANZA = 240_000  # bytes: below Prosody's c2s_stanza_size_limit (256 KiB), or Prosody closes mallory's stream


def xmpp_case(index: int, seed: int | None = None) -> Case:
    """A stanza (rarely two) for mallory's stream; drawn again (deterministically) while it is too big."""
    for attempt in range(20):
        case = _xmpp_case(index, random.Random(f"{SEED if seed is None else seed}:xmpp:{index}:{attempt}"))
        if len(case.data.encode()) <= MAX_STANZA:
            return case
    raise AssertionError(f"no stanza under {MAX_STANZA} bytes for case {index}")


def known_hostile(rng: random.Random, index: int) -> tuple[str, str, Tracked]:
    """The inputs issue 14 names, with a random target: a huge escaped-growing body, a namespace that needs
    escaping, deep nesting, an IQ type the handler does not expect, an occupant nick no resource may hold."""
    contact = rng.choice((f"echo@{LOOPBACK}", f"+12025550123@{SMS}", f"bob%{NETWORK}@{IRC}"))
    ident = f"known#fz{index}"
    kind = rng.randrange(6)
    if kind == 0:
        return ("known: 120,000 quotes", f"<message to={attr(contact)} type='chat' id={attr(ident)}><body>"
                + '"' * 120_000 + "</body></message>", [])
    if kind == 1:
        namespace = rng.choice(('urn:x:a"b', "urn:x:<&>", "urn:x:a'b", "urn:x:a}b"))
        return (f"known: namespace {namespace!r}", f"<message to={attr(contact)} type='chat' id={attr(ident)}>"
                f"<body>x</body><x xmlns={attr(namespace)}/></message>", [])
    if kind == 2:
        depth = rng.choice((500, 1000, 2000))
        return (f"known: {depth} levels", f"<message to={attr(contact)} type='chat' id={attr(ident)}><body>x</body>"
                f"{deep(rng, depth)}</message>", [])
    if kind == 3:
        to = rng.choice((LOOPBACK, SMS, IRC))
        depth = rng.choice((500, 1000, 2000))
        return (f"known: iq get {depth} levels", f"<iq type='get' id={attr(ident)} to={attr(to)}>"
                f"{deep(rng, depth, 'http://jabber.org/protocol/disco#info')}</iq>", [(ident, to)])
    if kind == 4:
        to = rng.choice((LOOPBACK, SMS, IRC, f"#chan%{NETWORK}@{IRC}"))
        namespace = rng.choice(("http://jabber.org/protocol/disco#info", "http://jabber.org/protocol/disco#items"))
        return (f"known: iq set {namespace.rsplit('#', 1)[-1]}", f"<iq type='set' id={attr(ident)} to={attr(to)}>"
                f"<query xmlns={attr(namespace)}/></iq>", [(ident, to)])
    nick = rng.choice(("\u200e", "\x85", "a\u0301", "nick\u202e", "\u200ebob"))
    return (f"known: occupant nick {nick!r}", f"<presence to={attr(f'#chan%{NETWORK}@{IRC}/{nick}')} "
            f"id={attr(ident)}><x xmlns='http://jabber.org/protocol/muc'/></presence>", [])


def _xmpp_case(index: int, rng: random.Random) -> Case:
    roll = rng.random()
    if roll < 0.03:
        label, data, iqs = known_hostile(rng, index)
        return Case(index, label, data, {"iqs": iqs})
    if roll < 0.42:
        label, data, iqs = xmpp_message(rng)
    elif roll < 0.62:
        label, data, iqs = xmpp_presence(rng)
    else:
        label, data, iqs = xmpp_iq(rng, str(index))
    if rng.random() < 0.03:  # two stanzas in one write
        second_label, second, more = xmpp_iq(rng, f"{index}b") if rng.random() < 0.5 else xmpp_message(rng)
        label, data, iqs = f"{label} + {second_label}", data + second, iqs + more
    return Case(index, label, data, {"iqs": iqs})


# -- HTTP -------------------------------------------------------------------------------------------------------


@dataclass
class HttpRequest:
    method: str
    path: str  # with its query string
    headers: dict[str, str]
    body: bytes
    signed_params: list[tuple[str, str]] | None = None  # the form the signature was computed over, if signed

    def __repr__(self) -> str:  # what a failure shows: short enough to read, enough to rebuild the request
        body = self.body if len(self.body) <= 300 else self.body[:200] + b"..." + self.body[-40:]
        signed = "signed" if self.signed_params is not None else "unsigned"
        return (f"HttpRequest({self.method} {self.path!r} {signed} headers={self.headers!r} "
                f"body[{len(self.body)}]={body!r})")


ROUTES = ("/sms/inbound", "/sms/inbound", "/sms/inbound", "/sms/status", "/sms/status", "/healthz", "/metrics",
          "/", "/sms", "/sms/inbound/", "/SMS/INBOUND", "/sms/%69nbound", "/sms/../metrics", "/x" * 200,
          "/\u00fc", "/sms/status;x", "//sms/inbound")
METHODS = ("POST", "POST", "POST", "POST", "GET", "GET", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH", "FOO",
           "TRACE")
CONTENT_TYPES = ("application/x-www-form-urlencoded", "application/x-www-form-urlencoded",
                 "application/x-www-form-urlencoded; charset=utf-8",
                 "application/x-www-form-urlencoded; charset=x-bogus",
                 "application/x-www-form-urlencoded; charset=latin-1", "multipart/form-data",
                 "multipart/form-data; boundary=", "multipart/form-data; boundary=zzz", "text/plain; charset=unknown",
                 "application/json", "text/xml", "", "*/*", "application/x-www-form-urlencoded; charset=utf-16",
                 "\u00fc/\u00fc")
NUMERIC_ODDITIES = ("\u00b2", "10000000", "999999999999999999999", "-1", "", " 1", "1.5", "0x1", "\u0661",
                    "\uff11", "1e9", "NaN", "00000000000000000001", "11", "10", "0")
STATUS_VALUES = ("queued", "sent", "delivered", "undelivered", "failed", "read", "bogus", "", "\u00fc",
                 "DELIVERED", "delivered\x00")


def _hostile_value(rng: random.Random) -> str:
    """A parameter value: odd text, including what XML 1.0 forbids (form feed, NUL, C0 controls)."""
    roll = rng.random()
    if roll < 0.25:
        return rng.choice(("\x0c", "\x00", "\x01", "\x08", "\x1b[31m", "\x0304red\x03", "\x7f",
                           "a\x0cb", "\x0b", "\x1f"))
    if roll < 0.3:
        return rng.choice(HUGE)()[:rng.choice((2000, 20000, 200000))]
    return odd_string(rng)


def _inbound_form(rng: random.Random, account_sid: str, to_number: str) -> list[tuple[str, str]]:
    params = {
        "AccountSid": account_sid if rng.random() < 0.9 else rng.choice(("AC" + "0" * 32, "", _hostile_value(rng))),
        "ApiVersion": "2010-04-01",
        "Body": _hostile_value(rng) if rng.random() < 0.8 else "hello",
        "From": rng.choice(PHONES) if rng.random() < 0.8 else _hostile_value(rng),
        "To": to_number if rng.random() < 0.85 else rng.choice(PHONES),
        "MessageSid": "SM" + f"{rng.getrandbits(128):032x}" if rng.random() < 0.9 else _hostile_value(rng),
        "NumMedia": "0" if rng.random() < 0.5 else rng.choice(NUMERIC_ODDITIES),
        "NumSegments": rng.choice(("1", "2", "\u00b2", "")),
        "SmsStatus": "received",
    }
    for index in range(rng.choice((0, 0, 1, 2, 11))):
        params[f"MediaUrl{index}"] = rng.choice(("https://example.org/a.png", "javascript:x", _hostile_value(rng)))
        params[f"MediaContentType{index}"] = rng.choice(("image/png", "", _hostile_value(rng)))
    for name in rng.sample(sorted(params), rng.randint(0, 2)):
        del params[name]  # required or not: missing parameters
    pairs = list(params.items())
    if rng.random() < 0.1:
        pairs += [(rng.choice(("Body", "From", "NumMedia", "To")), _hostile_value(rng)) for _ in range(3)]
    if rng.random() < 0.05:
        pairs += [(f"F{i}", "v") for i in range(rng.choice((1000, 5000)))]
    if rng.random() < 0.05:
        pairs.append((_hostile_value(rng)[:100], _hostile_value(rng)[:100]))
    return pairs


def _status_form(rng: random.Random, account_sid: str) -> list[tuple[str, str]]:
    params = {
        "AccountSid": account_sid if rng.random() < 0.9 else "AC" + "1" * 32,
        "MessageSid": "SM" + f"{rng.getrandbits(128):032x}",
        "MessageStatus": rng.choice(STATUS_VALUES),
        "From": rng.choice(PHONES),
        "To": rng.choice(PHONES),
    }
    if rng.random() < 0.5:
        params["ErrorCode"] = rng.choice((*NUMERIC_ODDITIES, "30003", "30008"))
        params["ErrorMessage"] = _hostile_value(rng)
    pairs = list(params.items())
    if rng.random() < 0.1:
        del pairs[rng.randrange(len(pairs))]
    return pairs


def _status_query(rng: random.Random) -> str:
    if rng.random() < 0.2:
        return ""
    values = {"j": rng.choice(("1", "2", "0", "-1", "999999999999999999999", "\u00b2", "abc", "")),
              "part": rng.choice(("1", "0", "2", "-5", "99999999999999999999", "x")),
              "of": rng.choice(("1", "0", "3", "99999999999", "\u0661"))}
    for name in rng.sample(sorted(values), rng.randint(0, 1)):
        del values[name]
    query = urlencode(values)
    if rng.random() < 0.1:
        query += "&j=2&j=3"
    return "?" + query


def _multipart(rng: random.Random, pairs: list[tuple[str, str]]) -> tuple[str, bytes]:
    boundary = rng.choice(("zzz", "", "--", "a" * 100, "\u00fc"))
    parts = []
    for name, value in pairs:
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n')
    body = "".join(parts)
    if rng.random() < 0.5:
        body = body[: len(body) // 2]  # cut off in the middle
    else:
        body += f"--{boundary}--\r\n"
    return f"multipart/form-data; boundary={boundary}", body.encode("utf-8", "surrogatepass")


def http_case(index: int, *, account_sid: str, to_number: str, sign: Callable[[str, list[tuple[str, str]]], str],
              public_url: str, seed: int | None = None) -> Case:
    """A request to the gateway; `sign(url, pairs)` computes an X-Twilio-Signature as Twilio would."""
    rng = rng_for("http", index) if seed is None else rng_for("http", index, seed)
    path = rng.choice(ROUTES)
    method = rng.choice(METHODS)
    if path == "/sms/status":
        path += _status_query(rng)
    elif rng.random() < 0.1:
        path += "?" + rng.choice(("x=1", "j=\u00b2", "a=%FF%FE", "&&&", "=", "q=" + "a" * 3000))
    headers: dict[str, str] = {}
    pairs: list[tuple[str, str]] | None = None
    body = b""
    content_type = rng.choice(CONTENT_TYPES)
    form = _status_form(rng, account_sid) if path.startswith("/sms/status") else _inbound_form(rng, account_sid,
                                                                                              to_number)
    roll = rng.random()
    if roll < 0.55:  # a form, usually well encoded
        pairs = form
        body = urlencode(pairs, encoding="utf-8", errors="surrogatepass").encode()
    elif roll < 0.65:
        body = rng.choice((b"Body=%FF%FE%FD&From=%2B12025550123", b"\xff\xfe\xfd=\xc3\x28", b"Body=\xc3\x28",
                           b"%", b"=&=&=", b"a=%zz", b"\x00" * 100, b"Body=" + b"%C0%80" * 50))
    elif roll < 0.72:
        content_type, body = _multipart(rng, form)
    elif roll < 0.77:
        body = b"A=" + b"x" * rng.choice((100_000, 1_100_000, 3_000_000))  # past aiohttp's 1 MiB default
    elif roll < 0.85:
        body = "&".join(f"{quote(k)}={quote(v)}" for k, v in form).encode() + b"&" + b"Body=dup&" * 50
    elif roll < 0.9:
        body = b'{"Body": "json", "From": "+12025550123"}'
    if content_type:
        headers["Content-Type"] = content_type
    signature_roll = rng.random()
    if pairs is not None and signature_roll < 0.6:
        headers["X-Twilio-Signature"] = sign(public_url + path, pairs)
    elif signature_roll < 0.75:
        headers["X-Twilio-Signature"] = rng.choice(("", "x", "=" * 28, "A" * 1000, "\u00fc", "bm90IGEgc2lnbmF0dXJl"))
    if rng.random() < 0.1:
        headers["X-Twilio-Webhooks-Signature-Settings"] = rng.choice(("algorithm=HMAC_SHA256", "algorithm=MD5", "x"))
    if rng.random() < 0.1:
        headers[rng.choice(("Content-Encoding", "Transfer-Encoding-X", "X-Forwarded-Proto", "Host-X"))] = \
            rng.choice(("gzip", "chunked", "https", "\u00fc", "x" * 4000))
    if rng.random() < 0.05:
        headers["Content-Encoding"] = "gzip"  # a body that is not gzip
    if rng.random() < 0.05:
        for number in range(50):
            headers[f"X-Fuzz-{number}"] = "v" * 100
    label = f"{method} {path[:40]} {'signed' if 'X-Twilio-Signature' in headers and pairs else 'unsigned'}"
    request = HttpRequest(method, path, headers, body, pairs if "X-Twilio-Signature" in headers else None)
    return Case(index, label, request)


# -- IRC --------------------------------------------------------------------------------------------------------

IRC_NICKS: tuple[bytes, ...] = (
    b"bob", "b\u00f6b".encode(), "bob\u05e9\u05dc\u05d5\u05dd".encode(), "\u05e9\u05dc\u05d5\u05ddbob".encode(),
    b"bo\x00b", b"\x07bell", "\u200ebob".encode(), "\u200fltr".encode(), "x\u0085c1".encode(), b"x\xc2\x9fc1",
    b"\xff\xfebad", b"\xc3\x28", b"a" * 500, b"", b"a@b", b"a%b", b"a/b", b"#notchan", b"\x02bold\x02",
    b"\x0304red\x03", b"[]\\`^{|}", b"-", b"0digit", "\U0001f600".encode(), b"nick\x1dital", b"n\x01ctcp",
    b"\x7f", "\u202eevil".encode(), b"a\rb", b"alice", b"ALICE", b"Alice_", b"nick\xed\xa0\x80", b"\xef\xbf\xbe",
    "\u0301".encode(), b"a b",
)
IRC_TEXTS: tuple[bytes, ...] = (
    b"hello", b"\x02bold\x02 \x1ditalic\x1d \x1funder\x1f \x16rev\x16 \x0fplain", b"\x0304,12colour\x03",
    b"\x03", b"\x0399,99x", b"\x04ff0000hex\x04", b"\x07bell", b"nul\x00in", b"bare\rcr", b"\xff\xfe\xfd",
    b"\xc3\x28", b"\xed\xa0\x80", b"\xef\xbf\xbf", b"\xc2\x85c1", b"\x1b[31mansi", b"\x01ACTION dances\x01",
    b"\x01VERSION\x01", b"\x01DCC SEND x 1 2 3\x01", b"\x01unterminated", b"\x01\x01", b"\x01ACTION\x01",
    "\u202eevil \u200e \u2066x".encode(), "e\u0301\u0301\u0301".encode(), "\U0001f600\U0010fffd".encode(),
    b"\x0c form feed", b"\x0b\x1f\x1e\x11", b"]]> <x> &amp; &", b"a" * 600, b"word " * 120, b"", b" ", b":",
    b"\xf4\x90\x80\x80", b"\xf8\x88\x80\x80\x80", b"trailing \\", "\u0661\u0662".encode(), b"%s%n%x",
)
TAGS: tuple[bytes, ...] = (
    b"@time=2020-01-01T00:00:00.000Z", b"@time=garbage", b"@time=99999-01-01T00:00:00Z", b"@time=",
    b"@msgid=\\:\\s\\\\\\r\\n", b"@+draft/reply=x;label=", b"@=;;=;", b"@a=b=c", b"@" + b"k=v;" * 300,
    b"@account=\xff", b"@batch=zz", b"@time=2020-13-45T25:61:61Z", b"@\x00=\x00", b"@x=\\", b"@", b"@ ",
)
NUMERICS = (b"401", b"403", b"404", b"405", b"421", b"432", b"433", b"436", b"437", b"442", b"471", b"473", b"474",
            b"475", b"477", b"482", b"900", b"902", b"904", b"905", b"906", b"908", b"301", b"305", b"306", b"311",
            b"324", b"329", b"331", b"332", b"333", b"341", b"352", b"367", b"368", b"999", b"000", b"1", b"0401")
ISUPPORT_ODDITIES = (b"NICKLEN=0", b"NICKLEN=-1", b"NICKLEN=99999999999999999999", b"TOPICLEN=x", b"CHANNELLEN=",
                     b"PREFIX=(qaohv)~&@%+", b"PREFIX=((", b"PREFIX=(ov)@", b"PREFIX=", b"CHANMODES=,,,,,,,",
                     b"MAXTARGETS=\xff", b"=", b"UTF8ONLY", b"LINELEN=10", b"NETWORK=\x02bold\x02",
                     b"STATUSMSG=@+#", b"TARGMAX=PRIVMSG:0")
OTHER_CHANNELS = (b"#chan", b"#\xff", "#\u00fcber".encode(), b"#a\x07b", b"#" + b"x" * 300, b"#", b"&local",
                  b"#a\x00b", b"##", b"#\x02c", "#\u202e".encode(), b"#c,d")

CHECK = b"#check"


def irc_case(index: int, own_nick: bytes = b"alice", seed: int | None = None) -> Case:
    """1-3 raw lines for alice's connection. Nothing that legitimately takes alice out of #check (a KICK or PART
    of her there, a change of her own nick, ERROR, KILL): those would lose the probe for a good reason."""
    rng = rng_for("irc", index) if seed is None else rng_for("irc", index, seed)
    if rng.random() < 0.05:  # alice joins a channel whose NAMES (and topic) hold odd nicks (and text)
        odd = [rng.choice((b"@", b"+", b"", b"~", b"@+")) + rng.choice(IRC_NICKS) for _ in range(rng.randint(1, 6))]
        members = [b"@" + own_nick, *odd]
        rng.shuffle(members)
        topic = rng.choice(IRC_TEXTS) if rng.random() < 0.5 else None
        return Case(index, "irc join: odd NAMES", [], {"join": (f"#fz{index}", b" ".join(members), topic)})
    nick = rng.choice(IRC_NICKS)
    while nick.lower() in (b"alice",):
        nick = rng.choice(IRC_NICKS)
    source = b":" + nick + b"!" + rng.choice((b"u", b"\xff", b"u\x00", b"")) + b"@" + rng.choice(
        (b"h.example", b"\xc3\x28", b"", b"a b"))
    if rng.random() < 0.05:
        source = rng.choice((b":", b"", b":hostile.test", b":" + nick, b":\xff!\xff@\xff"))
    server = b":hostile.test"
    channel = CHECK if rng.random() < 0.6 else rng.choice(OTHER_CHANNELS)
    target = rng.choice((CHECK, own_nick, own_nick, channel))
    txt = rng.choice(IRC_TEXTS) if rng.random() < 0.8 else rng.choice(IRC_TEXTS) + rng.choice(IRC_TEXTS)
    reason = rng.choice(IRC_TEXTS)
    kind = rng.choice(("privmsg", "privmsg", "privmsg", "notice", "notice", "numeric", "numeric", "quit", "away",
                       "part", "kick", "join", "names", "topic", "mode", "nick", "invite", "isupport", "cap",
                       "tags", "overlong", "garbage", "ctcp", "self-join", "server-notice", "batch"))
    lines: list[bytes]
    if kind in ("privmsg", "notice", "ctcp"):
        command = b"PRIVMSG" if kind != "notice" else b"NOTICE"
        body = txt if kind != "ctcp" else b"\x01" + rng.choice((b"VERSION", b"PING 1", b"ACTION x", b"TIME",
                                                                  b"CLIENTINFO", b"DCC CHAT", b"\xff")) + b"\x01"
        lines = [source + b" " + command + b" " + target + b" :" + body]
    elif kind == "server-notice":
        lines = [server + b" NOTICE " + rng.choice((own_nick, b"*", b"AUTH")) + b" :" + txt]
    elif kind == "numeric":
        code = rng.choice(NUMERICS)
        args = rng.choice((b" " + nick, b" " + channel, b" " + CHECK, b"", b" " + nick + b" " + channel))
        lines = [server + b" " + code + b" " + own_nick + args + b" :" + txt]
    elif kind == "quit":
        lines = [source + b" QUIT :" + reason]
        if rng.random() < 0.5:  # someone who was in #check
            lines.insert(0, source + b" JOIN " + CHECK)
    elif kind == "away":
        lines = [source + b" AWAY :" + reason, source + b" AWAY"][: rng.choice((1, 2))]
    elif kind == "part":
        lines = [source + b" JOIN " + channel, source + b" PART " + channel + b" :" + reason]
    elif kind == "kick":
        victim = rng.choice((nick, b"bob", b"carol\x02", b"\xff"))
        lines = [server + b" KICK " + channel + b" " + victim + b" :" + reason]
        if channel != CHECK and rng.random() < 0.3:
            lines = [server + b" KICK " + channel + b" " + own_nick + b" :" + reason]
    elif kind == "join":
        lines = [source + b" JOIN " + rng.choice((channel, b":" + channel, channel + b" * :real name"))]
    elif kind == "self-join":  # the server says alice joined a channel she never asked for
        lines = [b":" + own_nick + b"!u@h JOIN " + rng.choice(OTHER_CHANNELS)]
    elif kind == "names":
        names = b" ".join(rng.choice((b"@", b"+", b"", b"~", b"@+", b"%")) + rng.choice(IRC_NICKS)
                          for _ in range(rng.randint(1, 8)))
        lines = [server + b" 353 " + own_nick + b" " + rng.choice((b"=", b"@", b"*", b"x")) + b" " + channel
                 + b" :" + names, server + b" 366 " + own_nick + b" " + channel + b" :End of /NAMES list."]
    elif kind == "topic":
        lines = [rng.choice((source + b" TOPIC " + channel + b" :" + txt,
                             server + b" 332 " + own_nick + b" " + channel + b" :" + txt,
                             server + b" 333 " + own_nick + b" " + channel + b" " + nick + b" " + rng.choice(
                                 (b"1700000000", b"-1", b"99999999999999999999", b"x"))))]
    elif kind == "mode":
        mode = rng.choice((b"+o " + nick, b"-o " + nick, b"+v " + nick, b"+b *!*@*", b"+ovk", b"+l -5",
                           b"+xyz :odd", b"+o", b"-" * 50, b"+k \xff", b"+q " + nick))
        lines = [rng.choice((source, server)) + b" MODE " + rng.choice((channel, CHECK, own_nick)) + b" " + mode]
    elif kind == "nick":
        new = rng.choice(IRC_NICKS)
        lines = [source + b" NICK :" + new]
        if rng.random() < 0.5:
            lines.insert(0, source + b" JOIN " + CHECK)
    elif kind == "invite":
        lines = [source + b" INVITE " + own_nick + b" :" + channel]
    elif kind == "isupport":
        tokens = b" ".join(rng.sample(ISUPPORT_ODDITIES, rng.randint(1, 3)))
        lines = [server + b" 005 " + own_nick + b" " + tokens + b" :are supported by this server"]
    elif kind == "cap":
        lines = [server + b" CAP " + own_nick + b" " + rng.choice((b"NEW", b"DEL", b"ACK", b"NAK", b"LS", b"BOGUS"))
                 + b" :" + rng.choice((b"sasl", b"message-tags server-time", b"\xff", b"", b"a=b=c " * 50))]
    elif kind == "tags":
        lines = [rng.choice(TAGS) + b" " + source + b" PRIVMSG " + target + b" :" + txt]
    elif kind == "batch":
        reference = rng.choice((b"ref", b"\xff", b""))
        lines = [server + b" BATCH +" + reference + b" " + rng.choice((b"chathistory", b"netsplit", b"x")) + b" "
                 + CHECK, b"@batch=" + reference + b" " + source + b" PRIVMSG " + CHECK + b" :" + txt,
                 server + b" BATCH -" + reference]
    elif kind == "overlong":
        size = rng.choice((600, 1000, 5000, 10000, 70000))
        lines = [source + b" PRIVMSG " + target + b" :" + (txt or b"x") * (size // max(len(txt), 1) + 1)]
    else:  # garbage
        lines = [rng.choice((b"", b" ", b":", b"@", b":only-source", b"PRIVMSG", b"\x00\x00\x00", b"\xff" * 50,
                             b":x 001", b"PING", b"PING :" + txt, b"CAP * LS :" + txt,
                             source + b" PRIVMSG " + b" ".join([b"p"] * 60),
                             source + b" PRIVMSG " + target + b" :a\rPRIVMSG " + target + b" :b"))]
    if rng.random() < 0.25:  # many handler bugs need the same line twice (the first fails, the second is kept)
        lines = lines + lines[-1:]
    return Case(index, f"irc {kind}", lines[:4])
