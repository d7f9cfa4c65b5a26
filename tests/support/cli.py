"""The command line run in the test's own process (fast, and its output captured): `cli("user", "list")`."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from gateway.cli import main


class Cli:
    """`main([*prefix, *args, "-c", config])`; a traceback in the output is always a failure."""

    def __init__(self, config: Path, capsys: pytest.CaptureFixture[str], prefix: Sequence[str] = ("admin",)) -> None:
        self.config = config
        self.capsys = capsys
        self.prefix = tuple(prefix)

    def __call__(self, *args: str) -> tuple[int, str, str]:
        status = main([*self.prefix, *args, "-c", str(self.config)])
        out, err = self.capsys.readouterr()
        assert "Traceback" not in out + err
        return status, out, err

    def ok(self, *args: str) -> str:
        status, out, err = self(*args)
        assert status == 0, err
        return out

    def refused(self, *args: str, status: int = 1) -> str:
        got, out, err = self(*args)
        assert got == status, (out, err)
        return err
