"""The only reader of configuration: the TOML file, secret files and XMPP_GATEWAY_* environment variables.

Every problem is collected and reported as `key: why`, so a bad file is fixed in one pass, never with a
traceback.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from pathlib import Path
from typing import Any, Literal, TypeVar, get_args

from pydantic import BaseModel, Field, SecretStr, ValidationError, field_validator
from pydantic.fields import FieldInfo
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from gateway.store.secrets import check_key
from gateway.transports.discovery import descriptors
from gateway.transports.settings import StrictModel, TransportSettings

ENV_PREFIX = "XMPP_GATEWAY_"
CONFIG_ENV = "XMPP_GATEWAY_CONFIG"
M = TypeVar("M", bound=BaseModel)
DEFAULT_CONFIG_PATH = Path("/etc/xmpp-gateway/config.toml")


class ConfigError(Exception):
    """A configuration that cannot be used; `problems` holds one `key: why` line each."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        super().__init__(self.render())

    def render(self) -> str:
        count = len(self.problems)
        lines = [f"{self.source}: {count} problem{'s' if count != 1 else ''}:"]
        lines += [f"  - {p}" for p in self.problems]
        return "\n".join(lines)


class XmppSettings(StrictModel):
    host: str = Field("127.0.0.1", description="where the XMPP server accepts components")
    component_port: int = Field(5347, ge=1, le=65535)
    domain: str | None = Field(None, description="the server's own domain; defaults to each component's parent")
    admins: tuple[str, ...] = ()
    reconnect_max_delay: float = Field(30.0, gt=0, le=3600)
    # Below Prosody's default component limit (512 KiB): a larger stanza would make the server close the stream.
    max_stanza_size: int = Field(256 * 1024, ge=16 * 1024, le=16 * 1024 * 1024,
                                 description="bytes; the largest stanza the gateway writes to the XMPP server")

    @field_validator("admins")
    @classmethod
    def _bare_jids(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for jid in value:
            if jid.count("@") != 1 or "/" in jid or jid.startswith("@") or jid.endswith("@"):
                raise ValueError(f"{jid!r} is not a bare JID like admin@example.org")
        return tuple(j.lower() for j in value)


class DatabaseSettings(StrictModel):
    url: SecretStr = Field(SecretStr(""), description="SQLAlchemy URL; default: gateway.db beside the config; "
                                                       "a relative SQLite path is relative to the config's folder")
    migrate_on_start: bool = True
    journal_retention_days: int = Field(30, ge=1)
    # Room lines kept in an archive (MAM, history on join) outlive the rest of the journal: a bouncer's backlog.
    archive_retention_days: int = Field(90, ge=1, description="days archived room lines are kept")
    secret_key: SecretStr | None = Field(None, description="Fernet key that encrypts stored secrets (IRC passwords);"
                                                          " without one the gateway refuses to store them")

    @field_validator("secret_key")
    @classmethod
    def _fernet_key(cls, value: SecretStr | None) -> SecretStr | None:
        return SecretStr(check_key(value.get_secret_value())) if value is not None else None

    @field_validator("url")
    @classmethod
    def _supported(cls, value: SecretStr) -> SecretStr:
        # The URL may hold a password: the messages never repeat it.
        url = normalize_database_url(value.get_secret_value())
        if not url:
            return value
        try:
            driver = make_url(url).drivername
        except ArgumentError:
            raise ValueError("not a database URL; use sqlite:///PATH or postgresql://USER:PASSWORD@HOST/NAME") from None
        if driver not in _ASYNC_DRIVERS:
            raise ValueError(f"unsupported database driver {driver!r}; use a sqlite:// or postgresql:// URL")
        return SecretStr(url)

    @property
    def sqlalchemy_url(self) -> str:
        return self.url.get_secret_value()

    @property
    def secret_key_value(self) -> str | None:
        return self.secret_key.get_secret_value() if self.secret_key is not None else None


class HttpSettings(StrictModel):
    listen: str = Field("127.0.0.1:8080", description="host:port of the HTTP server")
    public_url: str | None = Field(None, description="the URL the outside world uses to reach `listen`")

    @field_validator("listen")
    @classmethod
    def _host_port(cls, value: str) -> str:
        host, sep, port = value.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
            raise ValueError(f"{value!r} is not host:port, e.g. 127.0.0.1:8080")
        return value

    @field_validator("public_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError(f"{value!r} is not an http:// or https:// URL")
        return value.rstrip("/") if value else value

    @property
    def host(self) -> str:
        return self.listen.rpartition(":")[0].strip("[]")

    @property
    def port(self) -> int:
        return int(self.listen.rpartition(":")[2])

    @property
    def base_url(self) -> str:
        return self.public_url or f"http://{self.listen}"


class LogSettings(StrictModel):
    level: Literal["debug", "info", "warning", "error"] = "info"
    format: Literal["text", "json"] = "text"


# The fixed tables; `[transports.*]` is validated apart, each table by its own transport's class.
_TABLES: dict[str, type[StrictModel]] = {
    "xmpp": XmppSettings, "database": DatabaseSettings, "http": HttpSettings, "log": LogSettings}


@dataclass(frozen=True)
class Config:
    path: Path | None
    xmpp: XmppSettings
    database: DatabaseSettings
    http: HttpSettings
    log: LogSettings
    transports: Mapping[str, TransportSettings]  # by instance name: the `[transports.<name>]` table's
    # Each instance's kind (its `type`, which defaults to the table's name), e.g. {"sms-work": "sms"}.
    kinds: Mapping[str, str] = dataclass_field(default_factory=dict)

    def kind(self, name: str) -> str:
        """The kind of the transport instance `name`."""
        return self.kinds.get(name, name)

    def instances(self, kind: str) -> list[str]:
        """The names of the configured instances of `kind`, in the file's order."""
        return [name for name in self.transports if self.kind(name) == kind]

    def secrets(self) -> list[str]:
        """Every secret value, so that logging can mask them wherever they appear."""
        found: list[str] = [make_url(self.database.sqlalchemy_url).password or ""]
        for model in (self.xmpp, self.database, self.http, self.log, *self.transports.values()):
            found += _secret_values(model)
        return [s for s in found if len(s) >= 4]

    def server_domain(self, component_jid: str) -> str:
        return self.xmpp.domain or component_jid.partition(".")[2] or component_jid


_ASYNC_DRIVERS = ("sqlite+aiosqlite", "postgresql+asyncpg")


def normalize_database_url(url: str) -> str:
    """Accept the plain URL forms operators know and pick the async driver."""
    for plain, driver in (
        ("sqlite://", "sqlite+aiosqlite://"),
        ("postgresql://", "postgresql+asyncpg://"),
        ("postgres://", "postgresql+asyncpg://"),
    ):
        if url.startswith(plain):
            return driver + url[len(plain) :]
    return url


def _secret_values(model: BaseModel) -> list[str]:
    values = []
    for name in type(model).model_fields:
        value = getattr(model, name)
        if isinstance(value, SecretStr):
            values.append(value.get_secret_value())
    return values


def default_config_path(environ: Mapping[str, str] | None = None) -> Path:
    environ = os.environ if environ is None else environ
    return Path(environ.get(CONFIG_ENV) or DEFAULT_CONFIG_PATH)


def load_config(path: Path, environ: Mapping[str, str] | None = None) -> Config:
    """Read and validate `path`; raise ConfigError naming every problem."""
    environ = os.environ if environ is None else environ
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(source, ["cannot read the file: it does not exist"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(source, [f"cannot read the file: {_reason(exc)}"]) from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(source, [f"not valid TOML: {exc}"]) from None
    return parse_config(raw, path, environ)


def parse_config(raw: dict[str, Any], path: Path | None, environ: Mapping[str, str]) -> Config:
    source = str(path) if path else "<config>"
    base_dir = path.parent if path else Path.cwd()
    problems: list[str] = []

    problems += [f"{key}: unknown key (the tables are [xmpp], [database], [http], [log] and [transports.<name>])"
                 for key in raw if key not in _TABLES and key != "transports"]
    tables: dict[str, Any] = {
        name: _table(model, raw.get(name, {}), name, base_dir, environ, problems) for name, model in _TABLES.items()}
    transports_raw = raw.get("transports", {})

    transports: dict[str, TransportSettings] = {}
    if not isinstance(transports_raw, dict):
        problems.append("transports: must be a table of [transports.<name>] tables")
        transports_raw = {}
    kinds: dict[str, str] = {}
    for name, table_raw in transports_raw.items():
        key = f"transports.{name}"
        kind = _kind(name, table_raw, key, problems)
        if kind is None:
            continue
        table_raw = {k: v for k, v in table_raw.items() if k != "type"}
        settings = _table(descriptors()[kind].settings, table_raw, key, base_dir, environ, problems)
        if settings is not None:
            transports[name] = settings
            kinds[name] = kind

    owners: dict[str, str] = {}
    for name, settings in transports.items():
        if settings.jid in owners:
            problems.append(f"transports.{name}.jid: {settings.jid!r} is already the JID of "
                            f"transports.{owners[settings.jid]}; each transport needs its own domain")
        owners.setdefault(settings.jid, name)

    if problems:
        raise ConfigError(source, problems)
    database = tables["database"]
    database = database.model_copy(update={"url": SecretStr(_beside(database.sqlalchemy_url, base_dir))})
    return Config(path=path, xmpp=tables["xmpp"], database=database, http=tables["http"], log=tables["log"],
                  transports=transports, kinds=kinds)


# An instance's name appears in webhook paths, environment variable names and the journal.
_INSTANCE_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")


def _kind(name: str, raw: Any, key: str, problems: list[str]) -> str | None:
    """The installed kind of the instance `[transports.<name>]`: its `type`, or its name when it has none."""
    known = ", ".join(sorted(descriptors()))
    if not _INSTANCE_NAME.match(name):
        problems.append(f"{key}: {name!r} is no transport name: lower-case letters, digits, - and _, starting "
                        "with a letter (at most 32)")
        return None
    if not isinstance(raw, dict):
        problems.append(f"{key}: must be a table, [{key}]")
        return None
    if "type" not in raw:
        if name in descriptors():
            return name
        problems.append(f"{key}: unknown transport {name!r} (known: {known}); a table named otherwise gives its "
                        "kind as type = \"<kind>\"")
        return None
    kind = raw["type"]
    if not isinstance(kind, str):
        problems.append(f"{key}.type: must be a transport kind (a string; known: {known})")
        return None
    if kind not in descriptors():
        problems.append(f"{key}.type: no transport of type {kind!r} is installed (known: {known})")
        return None
    return kind


def _table(model: type[M], raw: Any, key: str, base_dir: Path, environ: Mapping[str, str],
           problems: list[str]) -> M | None:
    """One table validated by its model, its secrets first filled from files or the environment."""
    if not isinstance(raw, dict):
        problems.append(f"{key}: must be a table, [{key}]")
        return None
    return _validate(model, _resolve_secrets(model, dict(raw), key, base_dir, environ, problems), key, problems)


def _beside(url: str, base_dir: Path) -> str:
    """No URL means gateway.db beside the config file; a relative SQLite path is relative to it too."""
    parsed = make_url(url or "sqlite+aiosqlite:///gateway.db")
    if parsed.get_backend_name() == "sqlite" and parsed.database and parsed.database != ":memory:":
        parsed = parsed.set(database=os.path.abspath(base_dir / parsed.database))
    return parsed.render_as_string(hide_password=False)


def env_name(table: str, key: str) -> str:
    return ENV_PREFIX + f"{table}_{key}".replace(".", "_").replace("-", "_").upper()


def _resolve_secrets(model: type[BaseModel], table: dict[str, Any], table_key: str, base_dir: Path,
                     environ: Mapping[str, str], problems: list[str]) -> dict[str, Any]:
    """Fill each secret from `key`, `key_file` or the environment, in that order of precedence.

    Tables nested in a list (e.g. `[[transports.irc.networks]]`) get the same treatment, numbered from 0.
    """
    for name, field in model.model_fields.items():
        nested = _nested_model(field)
        if nested is not None and isinstance(table.get(name), list):
            table[name] = [_resolve_secrets(nested, dict(item), f"{table_key}.{name}.{index}", base_dir, environ,
                                            problems) if isinstance(item, dict) else item
                           for index, item in enumerate(table[name])]
            continue
        if not _is_secret_field(field):
            continue
        file_key = f"{name}_file"
        env = env_name(table_key, name)
        if file_key in table:
            file_value = table.pop(file_key)
            if name in table:
                problems.append(f"{table_key}.{file_key}: give either {name} or {file_key}, not both")
                continue
            if not isinstance(file_value, str):
                problems.append(f"{table_key}.{file_key}: must be a path (a string)")
                continue
            secret_path = base_dir / Path(file_value).expanduser()
            try:
                table[name] = secret_path.read_text(encoding="utf-8").strip()
            except (OSError, UnicodeDecodeError) as exc:
                problems.append(f"{table_key}.{file_key}: cannot read {secret_path}: {_reason(exc)}")
        elif name not in table and env in environ:
            table[name] = environ[env]
        elif name not in table and field.is_required():
            problems.append(f"{table_key}.{name}: missing secret: set {name}, {file_key} or the "
                            f"environment variable {env}")
    return table


def _validate(model: type[M], raw: dict[str, Any], prefix: str, problems: list[str]) -> M | None:
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        for error in exc.errors():
            loc = ".".join(str(part) for part in error["loc"])
            key = f"{prefix}.{loc}" if prefix and loc else (prefix or loc)
            if error["type"] == "missing" and any(p.split(":", 1)[0] in (key, f"{key}_file") for p in problems):
                continue  # a secret already reported: missing (with how to give it), or its file unreadable
            message = _message(error, show_input=not _is_secret(model, error["loc"]))
            if error["type"] == "extra_forbidden" and len(error["loc"]) == 1:
                message += f" (known: {', '.join(model.model_fields)})"
            problems.append(f"{key}: {message}")
        return None


def _is_secret(model: type[BaseModel], loc: tuple[Any, ...]) -> bool:
    """Whether the value at `loc` (e.g. ("networks", 0, "password")) is a secret, however deeply nested."""
    current: type[BaseModel] | None = model
    for part in loc:
        if isinstance(part, int):
            continue  # an index into a list of tables
        field = current.model_fields.get(str(part)) if current is not None else None
        if field is None:
            return False
        if _is_secret_field(field):
            return True
        current = _nested_model(field)
    return False


def _nested_model(field: FieldInfo) -> type[BaseModel] | None:
    """The model of a field holding tables (a model, or a list or tuple of them), if it is one."""
    for candidate in (field.annotation, *get_args(field.annotation)):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def _is_secret_field(field: FieldInfo) -> bool:
    return SecretStr in (field.annotation, *get_args(field.annotation))


def _message(error: Any, show_input: bool) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        return "unknown key"
    if kind == "missing":
        return "missing required key"
    message = str(error["msg"]).removeprefix("Value error, ")
    if show_input and kind != "value_error" and "input" in error and not isinstance(error["input"], dict | list):
        message += f" (got {error['input']!r})"
    return message


def _reason(exc: BaseException) -> str:
    return exc.strerror or str(exc) if isinstance(exc, OSError) else str(exc)
