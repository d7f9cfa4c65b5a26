"""The example config in deploy/ is valid as shipped, once its secret file exists."""

from __future__ import annotations

import shutil
from pathlib import Path

from gateway.config import load_config

EXAMPLE = Path(__file__).resolve().parents[2] / "deploy" / "config.example.toml"


def test_example_config_is_valid(tmp_path: Path) -> None:
    config_path = tmp_path / "config.toml"
    shutil.copy(EXAMPLE, config_path)
    (tmp_path / "loopback.secret").write_text("example-secret\n")

    config = load_config(config_path, environ={})

    loopback = config.transports["loopback"]
    assert loopback.secret.get_secret_value() == "example-secret"
    assert loopback.access == "allowlist"
    assert config.xmpp.admins == ("admin@example.org",)
    assert config.database.sqlalchemy_url == "sqlite+aiosqlite:////var/lib/xmpp-gateway/gateway.db"
