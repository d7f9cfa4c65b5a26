"""One module owns each shared helper and type: no second copy of it anywhere in the package."""

from __future__ import annotations

import ast
import functools
from collections import defaultdict
from pathlib import Path

import pytest

import gateway

PACKAGE = Path(gateway.__file__).parent

# Name -> the one module that defines it.
OWNERS = {
    "TokenBucket": "gateway/core/pacing.py",
    "Backoff": "gateway/core/backoff.py",
    "TaskSet": "gateway/core/tasks.py",
    "Role": "gateway/core/rooms.py",
    "Affiliation": "gateway/core/rooms.py",
}


@functools.cache
def _definitions() -> dict[str, set[str]]:
    """Top-level classes and assignments of every module in the package, by name."""
    found: dict[str, set[str]] = defaultdict(set)
    for path in PACKAGE.rglob("*.py"):
        module = path.relative_to(PACKAGE.parent).as_posix()
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
                found[node.name].add(module)
            elif isinstance(node, ast.Assign):
                for target in node.targets:
                    for name in ast.walk(target):
                        if isinstance(name, ast.Name):
                            found[name.id].add(module)
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                found[node.target.id].add(module)
    return found


@pytest.mark.parametrize(("name", "owner"), sorted(OWNERS.items()))
def test_a_shared_name_is_defined_once_in_its_module(name: str, owner: str) -> None:
    assert _definitions()[name] == {owner}
