"""docs/adding-a-transport.md stays true: its code imports what exists, its classes are the pager's as they are,
what it overrides exists on the base, its keyword arguments are accepted, its paths and dotted names exist, and
its TOML is what the gateway reads."""

from __future__ import annotations

import ast
import importlib
import inspect
import re
import textwrap
import tomllib
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.plugin_transport.settings import PagerSettings

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "adding-a-transport.md"
TEXT = GUIDE.read_text(encoding="utf-8")
# The guide's classes and functions that are excerpts of real code: the same statements, comments aside.
EXCERPTS = {
    "PagerSettings": "tests.plugin_transport.settings",
    "PagerTransport": "tests.plugin_transport.transport",
    "PagerDescriptor": "tests.plugin_transport.descriptor",
    "_contact": "tests.plugin_transport.descriptor",
    "PagerForeign": "tests.contract.adapters",
}


def blocks(language: str) -> list[str]:
    return [textwrap.dedent(b) for b in re.findall(rf"^ *```{language}\n(.*?)^ *```", TEXT, re.M | re.S)]


def resolve(dotted: str) -> Any:
    """A module, or an attribute reached from the longest importable prefix."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            found: Any = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for name in parts[cut:]:
            found = getattr(found, name)
        return found
    raise ModuleNotFoundError(dotted)


def python_trees() -> Iterator[ast.Module]:
    for block in blocks("python"):
        yield ast.parse(block)


def imported(tree: ast.Module) -> dict[str, Any]:
    names: dict[str, Any] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module != "__future__":
            module: ModuleType = importlib.import_module(node.module)
            for alias in node.names:
                assert hasattr(module, alias.name), f"{node.module} has no {alias.name}"
                names[alias.asname or alias.name] = getattr(module, alias.name)
    return names


def test_the_guide_has_code() -> None:
    assert len(blocks("python")) >= 6 and len(blocks("toml")) == 2


@pytest.mark.parametrize("tree", list(python_trees()), ids=lambda t: str(t.body[-1].__class__.__name__))
def test_its_code_uses_names_that_exist(tree: ast.Module) -> None:
    names = imported(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in names:
            target = names[node.func.id]
            if not node.keywords:
                continue
            parameters = inspect.signature(target).parameters
            for keyword in node.keywords:
                assert keyword.arg in parameters, f"{node.func.id} takes no {keyword.arg}="
        if isinstance(node, ast.ClassDef):
            for base in node.bases:
                name = base.value.id if isinstance(base, ast.Subscript) and isinstance(base.value, ast.Name) else (
                    base.id if isinstance(base, ast.Name) else None)
                if name in names and name != "TransportSettings":  # settings add keys of their own
                    _overrides_exist(node, names[name])


def _overrides_exist(node: ast.ClassDef, base: type) -> None:
    known = set(dir(base)) | {a for k in base.__mro__ for a in getattr(k, "__annotations__", {})}
    for item in node.body:
        if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
            assert item.name in known, f"{base.__name__} has no {item.name}"
        elif isinstance(item, ast.Assign):
            for target in item.targets:
                assert isinstance(target, ast.Name) and target.id in known, f"{base.__name__} has no {target}"


def _definitions(tree: ast.Module) -> dict[str, str]:
    """Top-level classes and functions, docstrings left out (the guide's prose says what they would)."""
    for node in ast.walk(tree):
        if isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and ast.get_docstring(node):
            node.body = node.body[1:] or [ast.Pass()]
    return {node.name: ast.dump(node) for node in tree.body
            if isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))}


def test_its_excerpts_are_the_code_as_it_is() -> None:
    shown: dict[str, str] = {}
    for tree in python_trees():
        shown |= _definitions(tree)
    for name, module in EXCERPTS.items():
        real = _definitions(ast.parse(inspect.getsource(importlib.import_module(module))))
        assert shown.get(name) == real[name], f"the guide's {name} is not {module}'s"


def test_its_migration_header_is_the_pagers() -> None:
    [fragment] = [b for b in blocks("python") if "down_revision" in b]
    values: dict[str, Any] = {}
    exec(compile(fragment, "guide", "exec"), values)
    real = importlib.import_module("tests.plugin_transport.migrations.pager_0001_tones")
    for name in ("revision", "down_revision", "branch_labels", "depends_on"):
        assert values[name] == getattr(real, name), name


def test_its_toml_is_what_the_gateway_reads() -> None:
    config, entry_points = (tomllib.loads(b) for b in blocks("toml"))
    PagerSettings.model_validate(config["transports"]["pager"])
    for kind, target in entry_points["project"]["entry-points"]["xmpp_gateway.transports"].items():
        module, _, attribute = target.partition(":")
        assert getattr(importlib.import_module(module), attribute).kind == kind


def test_the_paths_and_dotted_names_it_mentions_exist() -> None:
    for token in set(re.findall(r"`([^`\s]+)`", TEXT)):
        if re.fullmatch(r"(gateway|tests|docs|migrations)/[\w./-]*", token):
            assert (ROOT / token).exists(), token
        elif re.fullmatch(r"(gateway|tests)(\.\w+)+", token):
            resolve(token)
    for command in re.findall(r"`(?:xmpp-gateway )?admin ([a-z]+) ", TEXT):
        assert command in ("pager", "contact"), command


def test_the_readme_picture_names_what_exists() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## How it is built", 1)[1].split("\n## ", 1)[0]
    assert "(docs/adding-a-transport.md)" in section
    for path in set(re.findall(r"gateway/[\w/.]+", section)) | {"tests/contract", "tests/test_layers.py"}:
        assert (ROOT / path.rstrip("/")).exists(), path
    for name in re.findall(r"`(core/\w+\.py)`", section):
        assert (ROOT / "gateway" / name).exists(), name
