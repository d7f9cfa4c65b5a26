"""Logging set-up: readable lines by default, JSON lines on request, secrets masked in both."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterable
from datetime import UTC, datetime

MASK = "********"


class _JsonFormatter(logging.Formatter):
    # A few lines of stdlib; a dependency for it would add more than it saves.
    def format(self, record: logging.LogRecord) -> str:
        entry = {"time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
                 "level": record.levelname.lower(), "logger": record.name, "message": record.getMessage()}
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


class _Redacting(logging.Formatter):
    """Masks every configured secret in the finished line, tracebacks and library messages included."""

    def __init__(self, inner: logging.Formatter, secrets: Iterable[str]) -> None:
        super().__init__()
        self._inner = inner
        # A JSON line holds a secret with its quotes and backslashes escaped: mask that form too.
        forms = {form for secret in secrets for form in (secret, json.dumps(secret, ensure_ascii=False)[1:-1])}
        self._secrets = sorted(forms, key=len, reverse=True)

    def format(self, record: logging.LogRecord) -> str:
        line = self._inner.format(record)
        for secret in self._secrets:
            line = line.replace(secret, MASK)
        return line


def setup_logging(level: str = "info", json_format: bool = False, secrets: Iterable[str] = ()) -> None:
    inner = _JsonFormatter() if json_format else logging.Formatter(
        "%(asctime)s %(levelname)-7s %(name)s: %(message)s")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_Redacting(inner, secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # slixmpp logs every stanza at debug and routine reconnect chatter at info; our own lines say what matters.
    logging.getLogger("slixmpp").setLevel(max(logging.WARNING, root.level))
    # The twilio SDK logs every API call at info, about 12 lines with its headers: shown only at debug.
    logging.getLogger("twilio").setLevel(logging.DEBUG if root.level <= logging.DEBUG else
                                         max(logging.WARNING, root.level))
