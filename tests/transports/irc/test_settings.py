from __future__ import annotations

import codecs
from typing import Any

import pytest
from pydantic import ValidationError

from gateway.transports.irc.settings import IrcNetwork, IrcSettings


def settings(**overrides: Any) -> IrcSettings:
    values: dict[str, Any] = {"jid": "irc.example.org", "secret": "s"}
    return IrcSettings(**(values | overrides))


def test_defaults_are_safe() -> None:
    s = settings()
    assert s.networks == ()
    assert (s.allow_arbitrary_servers, s.allow_private_addresses, s.persistent_connections) == (False, False, False)
    assert s.username == "xmpp" and s.realname == "XMPP gateway user"
    assert (s.flood_burst, s.flood_rate, s.queue_size) == (5, 2.0, 500)
    assert s.ping_timeout < s.ping_interval and s.reconnect_max_delay > 0 and s.quit_grace_period > 0


def test_network_defaults_and_normalisation() -> None:
    s = settings(networks=[{"name": "Libera", "host": "IRC.Libera.Chat."}, {"name": "local", "host": "127.0.0.1",
                                                                           "tls": False, "port": 6668}])
    libera, local = s.networks
    assert (libera.name, libera.host) == ("libera", "irc.libera.chat")
    assert (libera.tls, libera.verify_certificate) == (True, True)
    assert (libera.effective_port, libera.password, libera.max_line_bytes) == (6697, None, 512)
    assert codecs.lookup(libera.encoding_fallback).name == "iso8859-1"
    assert IrcNetwork(name="x", host="x.org", encoding_fallback="CP1252").encoding_fallback == "cp1252"
    assert (local.effective_port, local.host) == (6668, "127.0.0.1")
    assert IrcNetwork(name="x", host="example.org", tls=False).effective_port == 6667
    assert s.network("LIBERA") is libera and s.network("nope") is None


def test_password_is_secret() -> None:
    net = IrcNetwork(name="n", host="example.org", password="hunter2")
    assert net.password is not None and net.password.get_secret_value() == "hunter2"
    assert "hunter2" not in repr(net)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("username", "has space"),
        ("username", "a" * 11),
        ("username", "x@y"),
        ("realname", " "),
        ("realname", "evil\r\nQUIT"),
        ("max_networks_per_user", 0),
        ("max_channels_per_user", 0),
        ("flood_burst", 0),
        ("flood_rate", 0),
        ("queue_size", 0),
        ("ping_interval", 0),
        ("ping_timeout", -1),
        ("reconnect_max_delay", 0),
        ("quit_grace_period", -1),
        ("allow_arbitrary_servers", "perhaps"),
        ("unknown_key", 1),
    ],
)
def test_bad_values_name_the_key(key: str, value: object) -> None:
    with pytest.raises(ValidationError) as info:
        settings(**{key: value})
    assert key in str(info.value)


@pytest.mark.parametrize(
    ("key", "value", "why"),
    [
        ("name", "lib%era", "no network name"),
        ("name", "", "no network name"),
        ("name", "-x", "no network name"),
        ("host", "exa mple.org", "no host name"),
        ("host", "", "no host name"),
        ("port", 0, ""),
        ("port", 70000, ""),
        ("password", "", "empty"),
        ("password", "a\r\nQUIT", "CR, LF or NUL"),
        ("encoding_fallback", "klingon", "no text encoding"),
        ("encoding_fallback", "hex", "no text encoding"),
        ("max_line_bytes", 100, ""),
        ("colour", "blue", ""),
    ],
)
def test_bad_network_values(key: str, value: object, why: str) -> None:
    network: dict[str, object] = {"name": "libera", "host": "irc.libera.chat", key: value}
    with pytest.raises(ValidationError) as info:
        settings(networks=[network])
    error = info.value.errors()[0]
    assert error["loc"][:3] == ("networks", 0, key)
    assert why in str(error["msg"])
    if key == "password":
        assert "QUIT" not in str(error["msg"])


def test_duplicate_network_names_refused() -> None:
    with pytest.raises(ValidationError, match="defined twice"):
        settings(networks=[{"name": "a", "host": "x.org"}, {"name": "A", "host": "y.org"}])


def test_ipv6_literal_host() -> None:
    assert IrcNetwork(name="v6", host="[2001:db8::1]").host == "2001:db8::1"
