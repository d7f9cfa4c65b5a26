"""The example config in deploy/ is valid as shipped, once its secrets exist, and names exactly the components the
Prosody and ejabberd snippets beside it declare."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from gateway.config import load_config

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
EXAMPLE = DEPLOY / "config.example.toml"
SECRET_FILES = {"loopback.secret": "loopback", "sms.secret": "sms", "irc.secret": "irc",
                "twilio-auth-token": "twilio-token"}


def _example_with_secrets(tmp_path: Path) -> Path:
    config_path = tmp_path / "config.toml"
    shutil.copy(EXAMPLE, config_path)
    for name, value in SECRET_FILES.items():
        (tmp_path / name).write_text(value + "\n")
    return config_path


def _uncommented(path: Path) -> list[str]:
    comment = "--" if path.suffix == ".lua" else "#"
    return [line.split(comment, 1)[0].rstrip() for line in path.read_text().splitlines()]


def prosody_components() -> dict[str, str]:
    """Domain -> secret of the Component sections the Prosody snippet declares."""
    found: dict[str, str] = {}
    domain = None
    for line in _uncommented(DEPLOY / "prosody-component.cfg.lua"):
        if match := re.match(r'^Component\s+"([^"]+)"', line):
            domain = match[1]
        elif domain and (match := re.match(r'^\s+component_secret\s*=\s*"([^"]+)"', line)):
            found[domain] = match[1]
    return found


def prosody_component_port() -> int:
    text = "\n".join(_uncommented(DEPLOY / "prosody-component.cfg.lua"))
    match = re.search(r"^component_ports\s*=\s*\{\s*(\d+)\s*\}", text, re.M)
    assert match, "the Prosody snippet sets component_ports"
    return int(match[1])


def ejabberd_listener() -> tuple[int, set[str]]:
    """Port and domains of the snippet's ejabberd_service listener (its `hosts:` keys)."""
    lines = [line for line in _uncommented(DEPLOY / "ejabberd-component.yml") if line.strip()]
    start = next(i for i, line in enumerate(lines) if line.strip() == "module: ejabberd_service")
    block_start = max(i for i in range(start) if lines[i].strip() == "-")
    indent = len(lines[block_start]) - len(lines[block_start].lstrip())
    block = []
    for line in lines[block_start + 1:]:
        if len(line) - len(line.lstrip()) <= indent:
            break
        block.append(line)
    port = next(int(line.split(":")[1]) for line in block if line.strip().startswith("port:"))
    hosts_at = next(i for i, line in enumerate(block) if line.strip() == "hosts:")
    hosts_indent = len(block[hosts_at]) - len(block[hosts_at].lstrip())
    domain_indent = len(block[hosts_at + 1]) - len(block[hosts_at + 1].lstrip())
    domains = set()
    for line in block[hosts_at + 1:]:
        depth = len(line) - len(line.lstrip())
        if depth <= hosts_indent:
            break
        if depth == domain_indent:
            domains.add(line.strip().rstrip(":"))
    return port, domains


def test_example_config_is_valid(tmp_path: Path) -> None:
    config = load_config(_example_with_secrets(tmp_path), environ={})

    assert set(config.transports) == {"loopback", "sms", "irc"}
    assert config.transports["loopback"].secret.get_secret_value() == "loopback"
    sms = config.transports["sms"]
    assert sms.auth_token.get_secret_value() == "twilio-token"  # type: ignore[attr-defined]
    irc = config.transports["irc"]
    assert [network.name for network in irc.networks] == ["libera"]  # type: ignore[attr-defined]
    assert config.xmpp.admins == ("admin@example.org",)
    assert config.database.sqlalchemy_url == "sqlite+aiosqlite:////var/lib/xmpp-gateway/gateway.db"


def test_example_and_server_snippets_declare_the_same_components(tmp_path: Path) -> None:
    config = load_config(_example_with_secrets(tmp_path), environ={})
    domains = {settings.jid for settings in config.transports.values()}

    assert set(prosody_components()) == domains
    ejabberd_port, ejabberd_domains = ejabberd_listener()
    assert ejabberd_domains == domains
    assert config.xmpp.component_port == prosody_component_port() == ejabberd_port
    # Every component's parent is the domain whose users the admins are.
    assert {domain.split(".", 1)[1] for domain in domains} == {admin.split("@")[1] for admin in config.xmpp.admins}


def _check_config(config_path: Path, environ: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """The installed console script, as an operator runs it."""
    script = Path(sys.executable).parent / "xmpp-gateway"
    env = {k: v for k, v in os.environ.items() if not k.startswith("XMPP_GATEWAY_")} | environ
    return subprocess.run([str(script), "check-config", "-c", str(config_path)], capture_output=True, text=True,
                          env=env, timeout=60)


def test_check_config_passes_on_the_example_with_secret_files(tmp_path: Path) -> None:
    result = _check_config(_example_with_secrets(tmp_path), {})
    assert result.returncode == 0, result.stdout + result.stderr
    for line in ("transport loopback: loopback.example.org", "transport sms: sms.example.org",
                 "transport irc: irc.example.org"):
        assert line in result.stdout


def test_check_config_passes_on_the_example_with_secrets_in_the_environment(tmp_path: Path) -> None:
    config_path = tmp_path / "config.toml"
    config_path.write_text("\n".join(line for line in EXAMPLE.read_text().splitlines()
                                     if not re.match(r"^\w+_file\s*=", line)) + "\n")
    environ = {"XMPP_GATEWAY_TRANSPORTS_LOOPBACK_SECRET": "l", "XMPP_GATEWAY_TRANSPORTS_SMS_SECRET": "s",
               "XMPP_GATEWAY_TRANSPORTS_SMS_AUTH_TOKEN": "t", "XMPP_GATEWAY_TRANSPORTS_IRC_SECRET": "i"}
    assert _check_config(config_path, {}).returncode == 2, "without them, the secrets are missing"
    result = _check_config(config_path, environ)
    assert result.returncode == 0, result.stdout + result.stderr
