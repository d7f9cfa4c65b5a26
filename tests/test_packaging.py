"""Every package under gateway/ is listed in pyproject.toml, or `pip install .` would silently leave it out."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_package_is_listed_for_installation() -> None:
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    on_disk = {".".join(init.parent.relative_to(ROOT).parts) for init in (ROOT / "gateway").rglob("__init__.py")}
    on_disk |= {"gateway.migrations", "gateway.migrations.versions"}
    assert on_disk == listed
