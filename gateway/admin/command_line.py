"""The plumbing every command-line command shares, the transports' own `admin <kind> ...` ones included: adding a
sub-command with its config option, loading the config, running an operation on the store, and refusals that
print one line instead of a traceback."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from gateway.config import Config, default_config_path, load_config
from gateway.store.database import SchemaError, schema_revision
from gateway.store.store import Store
from gateway.transports.descriptor import SubParsers
from gateway.transports.discovery import descriptors

T = TypeVar("T")
Handler = Callable[[argparse.Namespace], int]  # the parsed arguments -> the exit status


class CliError(Exception):
    def __init__(self, message: str, status: int = 1) -> None:
        super().__init__(message)
        self.status = status


def add_command(parent: SubParsers, name: str, handler: Handler, help: str, config: bool = True
                ) -> argparse.ArgumentParser:
    """A sub-command of `parent` that runs `handler`, with the -c/--config option unless `config` is False."""
    sub: argparse.ArgumentParser = parent.add_parser(name, help=help, description=help)
    sub.set_defaults(handler=handler)
    if config:
        sub.add_argument("-c", "--config", type=Path, default=None,
                         help=f"config file (default: $XMPP_GATEWAY_CONFIG or {default_config_path({})})")
    return sub


def load(args: argparse.Namespace) -> Config:
    """The config file the command was given (or the default one)."""
    return load_config(args.config or default_config_path())


def instance(config: Config, kind: str, requested: str | None) -> str:
    """The transport instance of `kind` a command applies to: the one named by `--transport NAME` (`requested`),
    else the only one configured, else the kind itself (nothing of that kind configured, as before there could
    be several); several configured and none named is a usage mistake (exit 2)."""
    title = descriptors()[kind].title
    configured = config.instances(kind)
    if requested is not None:
        if requested not in configured:
            raise CliError(f"--transport {requested}: {config.path} has no {title} transport of that name "
                           f"({title} transports: {', '.join(configured) or 'none'})", status=2)
        return requested
    if len(configured) > 1:
        raise CliError(f"{config.path} configures several {title} transports ({', '.join(configured)}): name one "
                       "with --transport NAME", status=2)
    return configured[0] if configured else kind


def with_store(args: argparse.Namespace, operation: Callable[[Store], Awaitable[T]], config: Config | None = None
               ) -> T:
    """Run `operation` on the configured database, refused unless its schema is this gateway's."""
    config = config or load(args)

    async def go() -> T:
        store = await Store.open(config.database.sqlalchemy_url, secret_key=config.database.secret_key_value,
                                 kinds=config.kinds)
        try:
            current, head = await schema_revision(store.engine)
            if current != head:
                raise CliError(f"the database schema is at {current or 'nothing'}, this gateway needs {head}: "
                               f"run `xmpp-gateway db upgrade -c {config.path}` first")
            return await operation(store)
        finally:
            await store.close()

    return run_async(go(), config)


def run_async(coroutine: Coroutine[Any, Any, T], config: Config) -> T:
    try:
        return asyncio.run(coroutine)
    except (DBAPIError, SQLAlchemyError) as exc:
        reason = getattr(exc, "orig", None) or exc
        raise CliError(f"database {safe_url(config.database.sqlalchemy_url)}: {reason}") from None
    except SchemaError as exc:
        raise CliError(f"database {safe_url(config.database.sqlalchemy_url)}: {exc}") from None
    except OSError as exc:  # a port in use, a database server that is down, a directory we cannot write
        raise CliError(str(exc)) from None


def safe_url(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)
