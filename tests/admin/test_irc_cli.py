"""`xmpp-gateway admin irc network add | list | remove` on both databases: tables, --json, errors, secrets."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from gateway.cli import main
from gateway.store.store import Store
from tests.support.cli import Cli

KEY = Fernet.generate_key().decode()
PASSWORD = "srv-pass-5e2a91"


def write_config(tmp_path: Path, database_url: str, key: str | None) -> Path:
    path = tmp_path / "config.toml"
    text = f'[database]\nurl = "{database_url}"\n'
    if key:
        (tmp_path / "secret.key").write_text(key)
        text += 'secret_key_file = "secret.key"\n'
    path.write_text(text)
    return path


@pytest.fixture
def cli(tmp_path: Path, database_url: str, capsys: pytest.CaptureFixture[str]) -> Cli:
    config = write_config(tmp_path, database_url, KEY)
    assert main(["db", "upgrade", "-c", str(config)]) == 0
    capsys.readouterr()
    return Cli(config, capsys)


def networks(cli: Cli) -> list[dict[str, object]]:
    result: list[dict[str, object]] = json.loads(cli.ok("irc", "network", "list", "--json"))
    return result


def test_add_list_remove(cli: Cli, tmp_path: Path, database_url: str) -> None:
    secret = tmp_path / "libera.pw"
    secret.write_text(PASSWORD + "\n")
    out = cli.ok("irc", "network", "add", "Libera", "irc.libera.chat", "--password-file", str(secret))
    assert out == "network libera: irc.libera.chat:6697, TLS, server password stored encrypted\n"
    cli.ok("irc", "network", "add", "oftc", "irc.oftc.net", "--no-tls", "--encoding", "cp1252",
           "--max-line-bytes", "1024")

    assert networks(cli) == [
        {"name": "libera", "host": "irc.libera.chat", "port": 6697, "tls": True, "verify_certificate": True,
         "ca_file": "", "password": "********", "encoding_fallback": "iso8859-1", "max_line_bytes": 512,
         "origin": "admin"},
        {"name": "oftc", "host": "irc.oftc.net", "port": 6667, "tls": False, "verify_certificate": True,
         "ca_file": "", "password": "", "encoding_fallback": "cp1252", "max_line_bytes": 1024, "origin": "admin"}]
    table = cli.ok("irc", "network", "list")
    assert table.splitlines()[0].split()[:4] == ["NAME", "HOST", "PORT", "TLS"]
    assert "libera" in table and PASSWORD not in table

    async def stored_password() -> str | None:  # the gateway reads the password back with the key
        store = await Store.open(database_url, secret_key=KEY)
        try:
            found = await store.irc.get_network("libera", reveal=True)
            return found.password if found is not None else None
        finally:
            await store.close()

    assert asyncio.run(stored_password()) == PASSWORD

    assert cli.ok("irc", "network", "remove", "libera") == "removed the network libera\n"
    assert [n["name"] for n in networks(cli)] == ["oftc"]


def test_mistakes_are_refused_with_a_reason(cli: Cli) -> None:
    cli.ok("irc", "network", "add", "libera", "irc.libera.chat")
    assert "already a network named libera" in cli.refused("irc", "network", "add", "libera", "other.example.org")
    assert cli.ok("irc", "network", "add", "libera", "other.example.org", "--replace")
    assert networks(cli)[0]["host"] == "other.example.org"
    assert "no network named nope" in cli.refused("irc", "network", "remove", "nope")
    assert "no network name" in cli.refused("irc", "network", "add", "bad%name", "irc.example.org")
    assert "no host name" in cli.refused("irc", "network", "add", "x", "bad host")
    assert "encoding" in cli.refused("irc", "network", "add", "x", "irc.example.org", "--encoding", "nope")


def test_without_a_secret_key_a_password_is_refused(tmp_path: Path, sqlite_url: str,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(tmp_path, sqlite_url, key=None)
    assert main(["db", "upgrade", "-c", str(config)]) == 0
    cli = Cli(config, capsys)
    capsys.readouterr()
    secret = tmp_path / "pw"
    secret.write_text(PASSWORD)
    err = cli.refused("irc", "network", "add", "libera", "irc.libera.chat", "--password-file", str(secret))
    assert "no secret key is configured" in err and "secret_key" in err
    assert networks(cli) == []
    assert PASSWORD.encode() not in b"".join(p.read_bytes() for p in tmp_path.glob("gateway.db*"))
