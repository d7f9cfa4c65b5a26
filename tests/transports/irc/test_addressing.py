from __future__ import annotations

import ipaddress

import pytest

from gateway.transports.base import AddressError
from gateway.transports.irc.addressing import (
    Casemapping,
    IrcAddress,
    channel_address,
    check_channel,
    check_nick,
    check_server_address,
    nick_address,
    parse_local_part,
)


@pytest.mark.parametrize(
    ("local", "kind", "network", "name"),
    [
        ("#python%libera", "channel", "libera", "#python"),
        ("&local%net", "channel", "net", "&local"),
        ("+modeless%net", "channel", "net", "+modeless"),
        ("!ABCDEchan%net", "channel", "net", "!ABCDEchan"),
        ("#100%%net", "channel", "net", "#100%"),  # the last % separates: a channel may hold one
        ("alice%libera", "nick", "libera", "alice"),
        ("[Bot]^_`{|}-9%Libera", "nick", "libera", "[Bot]^_`{|}-9"),
        # Nicks servers assign beyond RFC 2812 (UTF-8 letters; a UID after a collision) can be answered.
        ("jörg%net", "nick", "net", "jörg"),
        ("0NEAAAAAB%net", "nick", "net", "0NEAAAAAB"),
        ("libera", "network", "libera", None),
        ("Libera.Chat", "network", "libera.chat", None),
    ],
)
def test_parse(local: str, kind: str, network: str, name: str | None) -> None:
    address = parse_local_part(local)
    assert (address.kind, address.network, address.name) == (kind, network, name)
    assert parse_local_part(address.local_part) == address  # build and parse agree


@pytest.mark.parametrize(
    ("local", "text"),
    [
        ("", "An address is needed"),
        ("#chan%", "names no network"),
        ("%libera", "names no channel or nick"),
        ("#chan%lib era", "no IRC network name"),
        ("al ice", "no IRC network name"),
        ("#%net", "a name must follow"),
        ("#a b%net", "a space"),
        ("#a,b%net", "a comma"),
        ("#a\x07b%net", "BEL"),
        ("#a\r\nJOIN #evil%net", "LF, CR"),
        ("#a\0b%net", "NUL"),
        ("al ice%net", "a space"),
        ("alice\r\nQUIT%net", "LF, CR"),
        ("alice\0%net", "NUL"),
        ("alice:x%net", "a colon"),
        ("alice!x%net", "'!'"),
        ("a" * 65 + "%net", "longer than 64"),
        ("#" + "c" * 200 + "%net", "longer than the network allows"),
    ],
)
def test_refused_with_reason(local: str, text: str) -> None:
    with pytest.raises(AddressError) as info:
        parse_local_part(local)
    assert text in info.value.text
    assert info.value.condition == "jid-malformed"


def test_network_limits_and_chantypes() -> None:
    with pytest.raises(AddressError, match="longer than 9"):
        parse_local_part("abcdefghij%net", nicklen=9)
    assert parse_local_part("abcdefghi%net", nicklen=9).name == "abcdefghi"
    # A network whose CHANTYPES is only '#': '&x' is then a nick.
    assert parse_local_part("&x%net", chantypes="#").kind == "nick"
    with pytest.raises(AddressError, match="longer than the network allows"):
        check_channel("#" + "c" * 50, channellen=50)


def test_builders_check_what_came_from_irc() -> None:
    assert channel_address("#Chan", "net").local_part == "#Chan%net"
    assert nick_address("Alice", "Net").local_part == "Alice%net"
    with pytest.raises(AddressError):
        nick_address("bad nick", "net")
    with pytest.raises(AddressError):
        channel_address("#bad\nchan", "net")
    assert check_nick("a") == "a"


@pytest.mark.parametrize(
    ("mapping", "a", "b", "equal"),
    [
        (Casemapping.RFC1459, "Alice", "alice", True),
        (Casemapping.RFC1459, "[Bot]", "{bot}", True),
        (Casemapping.RFC1459, "a\\b", "A|B", True),
        (Casemapping.RFC1459, "x~", "X^", True),  # ~ is the upper case of ^ in rfc1459
        (Casemapping.STRICT_RFC1459, "[Bot]", "{bot}", True),
        (Casemapping.STRICT_RFC1459, "x~", "x^", False),
        (Casemapping.ASCII, "Alice", "ALICE", True),
        (Casemapping.ASCII, "[Bot]", "{bot}", False),
        (Casemapping.RFC1459, "Ärger", "ärger", False),  # servers do not fold non-ASCII letters
        (Casemapping.ASCII, "#Python", "#python", True),
    ],
)
def test_casemapping(mapping: Casemapping, a: str, b: str, equal: bool) -> None:
    assert mapping.equal(a, b) is equal
    assert (mapping.fold(a) == mapping.fold(b)) is equal


def test_casemapping_from_isupport() -> None:
    assert Casemapping.from_isupport("ascii") is Casemapping.ASCII
    assert Casemapping.from_isupport("STRICT-RFC1459") is Casemapping.STRICT_RFC1459
    assert Casemapping.from_isupport(None) is Casemapping.RFC1459
    assert Casemapping.from_isupport("rfc7613") is Casemapping.RFC1459


def test_address_keys_compare_with_the_casemapping() -> None:
    a, b = parse_local_part("[Bot]%net"), parse_local_part("{bot}%net")
    assert a.same_as(b, Casemapping.RFC1459)
    assert not a.same_as(b, Casemapping.ASCII)
    assert a.key(Casemapping.RFC1459) == "{bot}%net"
    assert not parse_local_part("#x%net").same_as(parse_local_part("#x%other"))
    assert IrcAddress("network", "net").key() == "net"


@pytest.mark.parametrize(
    "ip",
    ["127.0.0.1", "10.1.2.3", "192.168.0.1", "172.16.5.4", "169.254.1.1", "100.64.0.1", "0.0.0.0", "::1",
     "fe80::1", "fd00::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1", "224.0.0.1"],
)
def test_internal_server_addresses_refused(ip: str) -> None:
    with pytest.raises(AddressError, match="internal address"):
        check_server_address(ip)
    assert check_server_address(ip, allow_private=True) == ipaddress.ip_address(ip)


@pytest.mark.parametrize("ip", ["93.184.216.34", "2606:4700::1111", "::ffff:93.184.216.34"])
def test_public_server_addresses_pass(ip: str) -> None:
    assert check_server_address(ip) == ipaddress.ip_address(ip)


def test_not_an_ip() -> None:
    with pytest.raises(AddressError, match="no IP address"):
        check_server_address("irc.example.org")
