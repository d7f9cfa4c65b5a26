"""The console entry, run as users run it: `python -m gateway ...` in a separate process."""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from gateway import __version__

SECRET = "cli-Component-secret"


def gateway(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    # The test's own XMPP_GATEWAY_* variables must not leak into the command's config.
    clean = {k: v for k, v in os.environ.items() if not k.startswith("XMPP_GATEWAY_")}
    return subprocess.run([sys.executable, "-m", "gateway", *args], cwd=cwd, env={**clean, **(env or {})},
                          capture_output=True, text=True, timeout=60)


def refused(result: subprocess.CompletedProcess[str], status: int) -> str:
    """The command failed with `status` and a message on stderr, never a traceback; returns the message."""
    assert result.returncode == status, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr + result.stdout
    assert result.stderr.strip()
    return result.stderr


def write_config(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


VALID = """
[xmpp]
component_port = 5348
admins = ["root@example.org"]

[database]
url = "postgresql://gw:db-password@db.internal/gateway"

[http]
listen = "127.0.0.1:8099"
public_url = "https://gw.example.org"

[transports.loopback]
jid = "loopback.example.org"
access = "open"
"""

BROKEN = """
colour = "blue"

[xmpp]
component_port = "five"

[database]
url = "mysql://gw:db-password@db/gateway"

[transports.loopback]
jid = "loopback.example.org"
secret_file = "missing.secret"

[transports.telegram]
jid = "tg.example.org"
"""
BROKEN_PROBLEMS = [
    "colour: unknown key",
    "xmpp.component_port: Input should be a valid integer",
    "database.url: unsupported database driver 'mysql'",
    "transports.loopback.secret_file: cannot read ",
    "transports.telegram: unknown transport 'telegram'",
]


# -- check-config, run, version ---------------------------------------------------------------------------
def test_check_config_summarises_a_valid_file(tmp_path: Path) -> None:
    path = write_config(tmp_path / "config.toml", VALID)
    result = gateway("check-config", "-c", str(path), cwd=tmp_path,
                     env={"XMPP_GATEWAY_TRANSPORTS_LOOPBACK_SECRET": SECRET})

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"{path}: valid"
    assert "127.0.0.1:5348" in result.stdout and "root@example.org" in result.stdout
    assert "postgresql+asyncpg://gw:***@db.internal/gateway" in result.stdout
    assert "https://gw.example.org" in result.stdout
    assert "transport loopback: loopback.example.org  access: open" in result.stdout
    assert SECRET not in result.stdout and "db-password" not in result.stdout


def test_check_config_reads_the_path_from_the_environment(tmp_path: Path) -> None:
    path = write_config(tmp_path / "gw.toml", "")
    result = gateway("check-config", cwd=tmp_path, env={"XMPP_GATEWAY_CONFIG": str(path)})
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"{path}: valid")


@pytest.mark.parametrize("command", ["check-config", "run"])
def test_a_bad_config_names_every_problem_and_exits_2(tmp_path: Path, command: str) -> None:
    path = write_config(tmp_path / "config.toml", BROKEN)
    message = refused(gateway(command, "-c", str(path), cwd=tmp_path), 2)

    assert message.startswith(f"{path}: {len(BROKEN_PROBLEMS)} problems:")
    for problem in BROKEN_PROBLEMS:
        assert f"  - {problem}" in message
    assert "db-password" not in message


def test_bad_toml_exits_2(tmp_path: Path) -> None:
    path = write_config(tmp_path / "config.toml", "[xmpp\nhost = 1\n")
    assert "not valid TOML" in refused(gateway("check-config", "-c", str(path), cwd=tmp_path), 2)


def test_a_missing_config_file_exits_2(tmp_path: Path) -> None:
    message = refused(gateway("check-config", "-c", "absent.toml", cwd=tmp_path), 2)
    assert message.startswith("absent.toml: 1 problem:\n  - cannot read the file: it does not exist")


def test_version(tmp_path: Path) -> None:
    result = gateway("version", cwd=tmp_path)
    assert (result.returncode, result.stdout) == (0, f"xmpp-gateway {__version__}\n")


def test_usage_mistakes_exit_2(tmp_path: Path) -> None:
    assert "usage: xmpp-gateway" in refused(gateway(cwd=tmp_path), 2)
    assert "invalid choice: 'frobnicate'" in refused(gateway("frobnicate", cwd=tmp_path), 2)
    assert "usage:" in refused(gateway("admin", "user", cwd=tmp_path), 2)


# -- db upgrade and admin user, on each database ----------------------------------------------------------
def test_admin_users_round_trip(tmp_path: Path, database_url: str) -> None:
    path = write_config(tmp_path / "config.toml", f'[database]\nurl = "{database_url}"\n')
    c = ("-c", str(path))

    message = refused(gateway("admin", "user", "list", *c, cwd=tmp_path), 1)
    assert f"run `xmpp-gateway db upgrade -c {path}` first" in message

    upgraded = gateway("db", "upgrade", *c, cwd=tmp_path)
    assert upgraded.returncode == 0, upgraded.stderr
    assert "is at revision" in upgraded.stdout

    added = gateway("admin", "user", "add", "Alice@Example.org", "--admin", *c, cwd=tmp_path)
    assert (added.returncode, added.stdout) == (0, "added alice@example.org (admin)\n"), added.stderr
    assert gateway("admin", "user", "add", "bob@example.org", *c, cwd=tmp_path).returncode == 0

    again = refused(gateway("admin", "user", "add", "alice@example.org", *c, cwd=tmp_path), 1)
    assert again == "xmpp-gateway: alice@example.org is already a user\n"
    assert "is not a bare JID" in refused(gateway("admin", "user", "add", "alice@example.org/phone", *c,
                                                  cwd=tmp_path), 1)
    assert "'a b@example.org' is not a valid JID" in refused(gateway("admin", "user", "add", "a b@example.org", *c,
                                                                     cwd=tmp_path), 1)

    table = gateway("admin", "user", "list", *c, cwd=tmp_path)
    assert table.returncode == 0, table.stderr
    assert [line.split() for line in table.stdout.splitlines()] == [
        ["JID", "IS_ADMIN", "ENABLED", "TRANSPORTS"], ["alice@example.org", "yes", "yes"],
        ["bob@example.org", "no", "yes"]]

    removed = gateway("admin", "user", "remove", "alice@example.org", *c, cwd=tmp_path)
    assert removed.returncode == 0, removed.stderr
    assert "removed alice@example.org" in removed.stdout
    missing = refused(gateway("admin", "user", "remove", "alice@example.org", *c, cwd=tmp_path), 1)
    assert missing == "xmpp-gateway: alice@example.org is not a user\n"

    listed = gateway("admin", "user", "list", "--json", *c, cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout) == [{"jid": "bob@example.org", "is_admin": False, "enabled": True,
                                          "transports": []}]


def test_a_database_that_cannot_be_reached_is_a_clear_error(tmp_path: Path) -> None:
    # Port 1 on the loopback interface: nothing listens there.
    path = write_config(tmp_path / "config.toml", '[database]\nurl = "postgresql://gw:db-password@127.0.0.1:1/gw"\n')
    message = refused(gateway("admin", "user", "list", "-c", str(path), cwd=tmp_path), 1)
    assert message.startswith("xmpp-gateway: ")
    assert "db-password" not in message


# -- example phone numbers ---------------------------------------------------------------------------------------
# An example a reader copies must be a number `number_check = "valid"` (the default) accepts: +1 555 ... is not.
INTERNATIONAL = re.compile(r"\+\d[\d ().-]{5,}\d")
NATIONAL = re.compile(r"\(\d{3}\) ?\d{3}-\d{4}")  # read in the default region, US


def example_numbers(text: str) -> list[str]:
    return INTERNATIONAL.findall(text) + NATIONAL.findall(text)


def refused_examples(texts: list[str]) -> list[str]:
    """The example numbers in `texts` that the SMS transport's "valid" check refuses."""
    from gateway.transports.base import AddressError
    from gateway.transports.sms.addressing import prompt_to_e164

    refused: list[str] = []
    for number in {n for text in texts for n in example_numbers(text)}:
        try:
            prompt_to_e164(number, "US", check="valid")
        except AddressError:
            refused.append(number)
    return sorted(refused)


def cli_help_texts() -> list[str]:
    """`--help` of every command and subcommand."""
    from gateway.cli import build_parser

    texts: list[str] = []
    parsers = [build_parser()]
    while parsers:
        parser = parsers.pop()
        texts.append(parser.format_help())
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                parsers.extend(action.choices.values())
    return texts


def command_texts() -> list[str]:
    """What XMPP users read: chat command help, ad-hoc command forms, transport descriptions and prompts."""
    from gateway.transports.discovery import descriptors
    from gateway.xmpp.admin_commands import ADMIN_COMMANDS
    from gateway.xmpp.user_commands import USER_COMMANDS

    texts: list[str] = []
    own = tuple(command for installed in descriptors().values() for command in installed.commands())
    for command in USER_COMMANDS + ADMIN_COMMANDS + own:
        texts += [command.name, command.description, command.usage]
        texts += [f"{field.label} {field.default or ''} {' '.join(field.options)}" for field in command.fields]
    for installed in descriptors().values():
        adapter = installed.adapter_class()
        texts += [adapter.description, getattr(adapter, "prompt", None) or ""]
    return texts


def test_example_numbers_are_found() -> None:
    assert example_numbers("e.g. +15551234567 or (415) 555-2671, not 2024-01-01") == ["+15551234567",
                                                                                   "(415) 555-2671"]
    assert refused_examples(["text +15551234567", "(555) 123-4567", "+14155552671 and +12025550123"]) == [
        "(555) 123-4567", "+15551234567"]


def test_every_example_number_in_help_texts_passes_the_valid_check() -> None:
    texts = cli_help_texts() + command_texts()
    assert any(example_numbers(text) for text in texts), "the help texts show example numbers"
    assert refused_examples(texts) == []
