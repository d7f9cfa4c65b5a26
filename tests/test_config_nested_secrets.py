"""Secrets inside lists of tables (IRC network passwords): from a file or the environment, never echoed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gateway.config import ConfigError, parse_config


def _irc(*networks: dict[str, Any]) -> dict[str, Any]:
    return {"transports": {"irc": {"jid": "irc.example.org", "secret": "component", "networks": list(networks)}}}


def test_network_password_from_a_file_or_the_environment(tmp_path: Path) -> None:
    (tmp_path / "libera.password").write_text("from-the-file\n")
    raw = _irc({"name": "libera", "host": "irc.libera.chat", "password_file": "libera.password"},
               {"name": "oftc", "host": "irc.oftc.net"})
    config = parse_config(raw, tmp_path / "config.toml", {"XMPP_GATEWAY_TRANSPORTS_IRC_NETWORKS_1_PASSWORD": "env"})
    networks = config.transports["irc"].networks  # type: ignore[attr-defined]
    assert [n.password.get_secret_value() for n in networks] == ["from-the-file", "env"]


def test_a_wrongly_typed_network_password_is_not_echoed(tmp_path: Path) -> None:
    raw = _irc({"name": "oftc", "host": "irc.oftc.net", "password": 987654321})
    with pytest.raises(ConfigError) as error:
        parse_config(raw, tmp_path / "config.toml", {})
    assert any(p.startswith("transports.irc.networks.0.password:") for p in error.value.problems)
    assert "987654321" not in error.value.render()


def test_an_unreadable_network_password_file_names_the_key(tmp_path: Path) -> None:
    raw = _irc({"name": "oftc", "host": "irc.oftc.net", "password_file": "missing"})
    with pytest.raises(ConfigError) as error:
        parse_config(raw, tmp_path / "config.toml", {})
    assert any(p.startswith("transports.irc.networks.0.password_file: cannot read") for p in error.value.problems)
