"""config.py: the TOML file, secrets from files and the environment, and a message naming each problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.config import ConfigError, default_config_path, load_config, normalize_database_url
from gateway.transports.discovery import descriptors
from gateway.transports.loopback.descriptor import LoopbackDescriptor
from gateway.transports.loopback.settings import LoopbackSettings

SECRET = "s3cret-Component-pass"
LOOPBACK = f"""
[transports.loopback]
jid = "loopback.example.org"
secret = "{SECRET}"
"""


def write(tmp_path: Path, text: str, name: str = "config.toml") -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def problems(path: Path, environ: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ or {})
    assert caught.value.problems, "a ConfigError always names at least one problem"
    return caught.value.problems


def only_problem(path: Path, environ: dict[str, str] | None = None) -> str:
    found = problems(path, environ)
    assert len(found) == 1, found
    return found[0]


# -- a valid file -----------------------------------------------------------------------------------------
def test_a_full_file_is_read_into_typed_settings(tmp_path: Path) -> None:
    path = write(tmp_path, f"""
[xmpp]
host = "xmpp.internal"
component_port = 5348
admins = ["Root@Example.org"]

[database]
url = "postgresql://gw:pw@db.internal/gateway"

[http]
listen = "0.0.0.0:8443"
public_url = "https://gw.example.org/"

[log]
level = "debug"
format = "json"
{LOOPBACK}
access = "allowlist"
allowlist = ["*@example.org"]
""")
    config = load_config(path, {})

    assert (config.xmpp.host, config.xmpp.component_port) == ("xmpp.internal", 5348)
    assert config.xmpp.admins == ("root@example.org",)
    assert config.database.sqlalchemy_url == "postgresql+asyncpg://gw:pw@db.internal/gateway"
    assert (config.http.host, config.http.port) == ("0.0.0.0", 8443)
    assert config.http.base_url == "https://gw.example.org"
    assert (config.log.level, config.log.format) == ("debug", "json")
    loopback = config.transports["loopback"]
    assert isinstance(loopback, LoopbackSettings)
    assert loopback.jid == "loopback.example.org"
    assert loopback.secret.get_secret_value() == SECRET
    assert (loopback.access, loopback.allowlist) == ("allowlist", ("*@example.org",))
    assert SECRET not in repr(config), "secrets stay hidden in reprs"


def test_every_table_has_defaults(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, ""), {})

    assert (config.xmpp.host, config.xmpp.component_port, config.xmpp.admins) == ("127.0.0.1", 5347, ())
    assert config.http.listen == "127.0.0.1:8080"
    assert (config.log.level, config.log.format) == ("info", "text")
    assert config.transports == {}


# -- the file itself --------------------------------------------------------------------------------------
def test_a_missing_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.toml"
    with pytest.raises(ConfigError) as caught:
        load_config(path, {})
    assert caught.value.problems == ["cannot read the file: it does not exist"]
    assert str(path) in caught.value.render()


def test_a_directory_is_no_file(tmp_path: Path) -> None:
    assert only_problem(tmp_path).startswith("cannot read the file: ")


def test_a_file_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_bytes(b'[xmpp]\nhost = "\xff\xfe"\n')
    assert only_problem(path).startswith("cannot read the file: ")


def test_bad_toml_names_the_line(tmp_path: Path) -> None:
    problem = only_problem(write(tmp_path, '[xmpp]\nhost = "127.0.0.1"\ncomponent_port = \n'))
    assert problem.startswith("not valid TOML: ")
    assert "line 3" in problem


def test_render_lists_every_problem_under_the_file_name(tmp_path: Path) -> None:
    path = write(tmp_path, "[xmpp]\nhots = 1\n[http]\nlisten = 8080\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path, {})
    lines = caught.value.render().splitlines()
    assert lines[0] == f"{path}: 2 problems:"
    assert lines[1].startswith("  - xmpp.hots: unknown key")
    assert lines[2].startswith("  - http.listen: ")


# -- keys and values --------------------------------------------------------------------------------------
@pytest.mark.parametrize(("text", "key", "reason"), [
    ("nonsense = 1\n", "nonsense", "unknown key (the tables are [xmpp], [database], [http], [log]"),
    ("[xmpp]\nhots = 'x'\n", "xmpp.hots", "unknown key (known: host, component_port"),
    ("[database]\nulr = 'x'\n", "database.ulr", "unknown key (known: url,"),
    ("[log]\ncolour = true\n", "log.colour", "unknown key (known: level, format)"),
    (LOOPBACK + "acess = 'open'\n", "transports.loopback.acess", "unknown key (known: jid, secret, access, allowlist"),
])
def test_an_unknown_key_is_named_with_the_known_ones(tmp_path: Path, text: str, key: str, reason: str) -> None:
    assert only_problem(write(tmp_path, text)).startswith(f"{key}: {reason}")


@pytest.mark.parametrize(("text", "key", "reason"), [
    ("[xmpp]\ncomponent_port = 'five'\n", "xmpp.component_port", "valid integer"),
    ("[xmpp]\ncomponent_port = 70000\n", "xmpp.component_port", "less than or equal to 65535 (got 70000)"),
    ("[xmpp]\nadmins = ['admin']\n", "xmpp.admins", "'admin' is not a bare JID"),
    ("[xmpp]\nadmins = ['admin@example.org/phone']\n", "xmpp.admins", "is not a bare JID"),
    ("[xmpp]\nadmins = 'admin@example.org'\n", "xmpp.admins", "valid tuple"),
    ("xmpp = 1\n", "xmpp", "must be a table"),
    ("[http]\nlisten = '8080'\n", "http.listen", "'8080' is not host:port"),
    ("[http]\npublic_url = 'gw.example.org'\n", "http.public_url", "is not an http:// or https:// URL"),
    ("[log]\nlevel = 'loud'\n", "log.level", "'debug', 'info', 'warning' or 'error' (got 'loud')"),
    ("[log]\nformat = 'xml'\n", "log.format", "'text' or 'json' (got 'xml')"),
    ("[database]\nmigrate_on_start = 'sometimes'\n", "database.migrate_on_start", "valid boolean"),
    ("transports = 1\n", "transports", "must be a table of [transports.<name>] tables"),
    ("transports.loopback = 1\n", "transports.loopback", "must be a table"),
    (LOOPBACK.replace("loopback.example.org", "bot@example.org"), "transports.loopback.jid",
     "'bot@example.org' is not a domain name"),
    (LOOPBACK + "access = 'public'\n", "transports.loopback.access", "'closed', 'allowlist' or 'open' (got 'public')"),
])
def test_a_wrong_type_or_value_is_named(tmp_path: Path, text: str, key: str, reason: str) -> None:
    problem = only_problem(write(tmp_path, text))
    assert problem.startswith(f"{key}: "), problem
    assert reason in problem


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    found = problems(write(tmp_path, """
[xmpp]
component_port = 0
[http]
listen = "nowhere"
[transports.loopback]
jid = "loopback.example.org"
[transports.telegram]
jid = "tg.example.org"
"""))
    assert [p.split(":", 1)[0] for p in found] == [
        "xmpp.component_port", "http.listen", "transports.loopback.secret", "transports.telegram"]


def test_an_unknown_transport_is_named_with_the_known_ones(tmp_path: Path) -> None:
    problem = only_problem(write(tmp_path, '[transports.telegram]\njid = "tg.example.org"\nsecret = "x"\n'))
    assert problem.startswith("transports.telegram: unknown transport 'telegram' (known: ")
    assert "loopback" in problem


class EchoDescriptor(LoopbackDescriptor):
    """A second installed transport, for two tables in one file."""

    kind = "echo"


def test_two_transports_on_one_jid_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(descriptors(), "echo", EchoDescriptor())
    path = write(tmp_path, LOOPBACK + '[transports.echo]\njid = "Loopback.Example.org"\nsecret = "other"\n')
    problem = only_problem(path)
    assert problem.startswith("transports.echo.jid: 'loopback.example.org' is already the JID of "
                              "transports.loopback")


def test_two_transports_on_two_jids_are_fine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(descriptors(), "echo", EchoDescriptor())
    path = write(tmp_path, LOOPBACK + '[transports.echo]\njid = "echo.example.org"\nsecret = "other"\n')
    assert set(load_config(path, {}).transports) == {"loopback", "echo"}


# -- secrets ----------------------------------------------------------------------------------------------
NO_SECRET = '[transports.loopback]\njid = "loopback.example.org"\n'


def test_a_missing_secret_says_how_to_give_it(tmp_path: Path) -> None:
    assert only_problem(write(tmp_path, NO_SECRET)) == (
        "transports.loopback.secret: missing secret: set secret, secret_file or the environment variable "
        "XMPP_GATEWAY_TRANSPORTS_LOOPBACK_SECRET")


@pytest.mark.parametrize("secret", ["", "  "])
def test_an_empty_secret_is_refused(tmp_path: Path, secret: str) -> None:
    problem = only_problem(write(tmp_path, NO_SECRET + f'secret = "{secret}"\n'))
    assert problem == "transports.loopback.secret: the secret is empty"


def test_a_secret_from_a_file_beside_the_config(tmp_path: Path) -> None:
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "loopback").write_text(SECRET + "\n")
    path = write(tmp_path, NO_SECRET + 'secret_file = "secrets/loopback"\n')

    secret = load_config(path, {}).transports["loopback"].secret.get_secret_value()
    assert secret == SECRET, "the path is relative to the config file and the final newline is dropped"


def test_a_secret_from_the_environment(tmp_path: Path) -> None:
    path = write(tmp_path, NO_SECRET)
    config = load_config(path, {"XMPP_GATEWAY_TRANSPORTS_LOOPBACK_SECRET": SECRET})
    assert config.transports["loopback"].secret.get_secret_value() == SECRET


def test_the_database_url_from_the_environment(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, ""), {"XMPP_GATEWAY_DATABASE_URL": "postgres://gw:pw@db/gateway"})
    assert config.database.sqlalchemy_url == "postgresql+asyncpg://gw:pw@db/gateway"


def test_a_secret_in_the_file_wins_over_the_environment(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, LOOPBACK), {"XMPP_GATEWAY_TRANSPORTS_LOOPBACK_SECRET": "from-env"})
    assert config.transports["loopback"].secret.get_secret_value() == SECRET


def test_a_secret_and_its_file_together_are_refused(tmp_path: Path) -> None:
    (tmp_path / "loopback.secret").write_text("other")
    path = write(tmp_path, LOOPBACK + 'secret_file = "loopback.secret"\n')
    assert only_problem(path) == "transports.loopback.secret_file: give either secret or secret_file, not both"


def test_an_unreadable_secret_file_is_named_once(tmp_path: Path) -> None:
    path = write(tmp_path, NO_SECRET + 'secret_file = "missing.secret"\n')
    assert only_problem(path) == (
        f"transports.loopback.secret_file: cannot read {tmp_path / 'missing.secret'}: No such file or directory")


def test_a_secret_file_that_is_no_path_is_named_once(tmp_path: Path) -> None:
    path = write(tmp_path, NO_SECRET + "secret_file = 7\n")
    assert only_problem(path) == "transports.loopback.secret_file: must be a path (a string)"


def test_a_secret_file_key_only_exists_for_secrets(tmp_path: Path) -> None:
    path = write(tmp_path, LOOPBACK + 'jid_file = "jid.txt"\n')
    assert only_problem(path).startswith("transports.loopback.jid_file: unknown key")


@pytest.mark.parametrize(("text", "key", "value"), [
    (NO_SECRET + "secret = 918273645\n", "transports.loopback.secret", "918273645"),
    ("[database]\nurl = 918273645\n", "database.url", "918273645"),
    ("[database]\nurl = 'mysql://gw:hunter2-pass@db/gateway'\n", "database.url", "hunter2-pass"),
    ("[database]\nurl = 'hunter2-pass'\n", "database.url", "hunter2-pass"),
])
def test_a_secret_value_never_appears_in_a_message(tmp_path: Path, text: str, key: str, value: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_config(path, {})
    assert caught.value.problems[0].startswith(f"{key}: ")
    assert value not in caught.value.render()


def test_secrets_lists_every_secret_for_the_log_masks(tmp_path: Path) -> None:
    path = write(tmp_path, LOOPBACK + '[database]\nurl = "postgres://gw:db-password@db/gateway"\n')
    secrets = load_config(path, {}).secrets()
    assert SECRET in secrets
    assert "postgresql+asyncpg://gw:db-password@db/gateway" in secrets
    # The password alone too: the URL is logged in its normalised form, or the password inside a driver message.
    assert "db-password" in secrets


# -- the database URL -------------------------------------------------------------------------------------
def test_the_default_database_is_sqlite_beside_the_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path, "", name="etc/config.toml")
    monkeypatch.chdir(tmp_path)
    config = load_config(Path("etc/config.toml"), {})
    assert config.database.sqlalchemy_url == f"sqlite+aiosqlite:///{tmp_path / 'etc' / 'gateway.db'}"


def test_a_relative_sqlite_path_is_relative_to_the_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path, '[database]\nurl = "sqlite:///data/gw.db"\n', name="etc/config.toml")
    monkeypatch.chdir(tmp_path)
    config = load_config(Path("etc/config.toml"), {})
    assert config.database.sqlalchemy_url == f"sqlite+aiosqlite:///{tmp_path / 'etc' / 'data' / 'gw.db'}"


@pytest.mark.parametrize(("url", "expected"), [
    ("sqlite:////var/lib/gw/gateway.db", "sqlite+aiosqlite:////var/lib/gw/gateway.db"),
    ("postgres://gw:pw@db:5433/gateway", "postgresql+asyncpg://gw:pw@db:5433/gateway"),
    ("postgresql://gw:pw@db/gateway", "postgresql+asyncpg://gw:pw@db/gateway"),
    ("postgresql+asyncpg://gw@db/gateway", "postgresql+asyncpg://gw@db/gateway"),
    ("sqlite+aiosqlite:////tmp/gw.db", "sqlite+aiosqlite:////tmp/gw.db"),
])
def test_database_urls_get_the_async_driver(tmp_path: Path, url: str, expected: str) -> None:
    assert normalize_database_url(url) == expected
    config = load_config(write(tmp_path, f'[database]\nurl = "{url}"\n'), {})
    assert config.database.sqlalchemy_url == expected


@pytest.mark.parametrize(("url", "reason"), [
    ("mysql://gw:pw@db/gateway", "unsupported database driver 'mysql'"),
    ("postgresql+psycopg2://gw:pw@db/gateway", "unsupported database driver 'postgresql+psycopg2'"),
    ("gateway.db", "not a database URL"),
])
def test_an_unusable_database_url_is_refused(tmp_path: Path, url: str, reason: str) -> None:
    problem = only_problem(write(tmp_path, f'[database]\nurl = "{url}"\n'))
    assert problem.startswith(f"database.url: {reason}")


def test_the_config_path_comes_from_the_environment() -> None:
    assert default_config_path({"XMPP_GATEWAY_CONFIG": "/srv/gw.toml"}) == Path("/srv/gw.toml")
    assert default_config_path({}) == Path("/etc/xmpp-gateway/config.toml")


def test_an_allowlist_access_without_patterns_is_refused(tmp_path: Path) -> None:
    problem = only_problem(write(tmp_path, LOOPBACK + 'access = "allowlist"\n'))
    assert problem.startswith("transports.loopback.allowlist: access = 'allowlist' needs at least one JID pattern")


def test_a_missing_required_key_is_named(tmp_path: Path) -> None:
    assert only_problem(write(tmp_path, f'[transports.loopback]\nsecret = "{SECRET}"\n')) == (
        "transports.loopback.jid: missing required key")
