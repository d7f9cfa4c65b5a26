"""Wiring happens in app.py: no constructor under gateway/ patches an object it was given (`xmpp.handler = ...`);
each object receives what it needs as an argument or from an explicit call the composition root makes."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "gateway"

# (path under gateway/, class, assignment target) -> why it must stay. Empty: every case found so far moved.
ALLOWED: dict[tuple[str, str, str], str] = {}


def _root_name(node: ast.expr) -> str | None:
    while isinstance(node, (ast.Attribute, ast.Subscript)):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _targets(statement: ast.stmt) -> list[ast.expr]:
    if isinstance(statement, ast.Assign):
        found: list[ast.expr] = []
        for target in statement.targets:
            found += target.elts if isinstance(target, (ast.Tuple, ast.List)) else [target]
        return found
    if isinstance(statement, (ast.AnnAssign, ast.AugAssign)):
        return [statement.target]
    return []


def patched_parameters(source: str) -> list[tuple[str, str]]:
    """(class, target) for each attribute a class's `__init__` sets on one of its parameters other than self,
    by assignment or setattr, including through a chain (`param.plugin["x"].flag = ...`)."""
    found: list[tuple[str, str]] = []
    for cls in ast.walk(ast.parse(source)):
        if not isinstance(cls, ast.ClassDef):
            continue
        for init in cls.body:
            if not isinstance(init, (ast.FunctionDef, ast.AsyncFunctionDef)) or init.name != "__init__":
                continue
            arguments = init.args
            names = [a.arg for a in arguments.posonlyargs + arguments.args + arguments.kwonlyargs]
            names += [a.arg for a in (arguments.vararg, arguments.kwarg) if a is not None]
            parameters = set(names[1:] if names and names[0] == "self" else names)
            for node in ast.walk(init):
                if isinstance(node, ast.stmt):
                    found += [(cls.name, ast.unparse(t)) for t in _targets(node)
                              if isinstance(t, (ast.Attribute, ast.Subscript)) and _root_name(t) in parameters]
                elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "setattr"
                      and node.args and _root_name(node.args[0]) in parameters):
                    found.append((cls.name, ast.unparse(node)))
    return found


def test_the_check_finds_a_constructor_patching_its_argument() -> None:
    source = ("class A:\n"
              "    def __init__(self, xmpp, rooms, *, other):\n"
              "        self.xmpp = xmpp\n"
              "        self.xmpp.ok = 1\n"
              "        xmpp.chat_commands = self.handle\n"
              "        rooms.plugin['x'].flag, n = False, 2\n"
              "        setattr(other, 'sink', self)\n"
              "        local = object()\n"
              "        local.attr = 1\n")
    assert patched_parameters(source) == [
        ("A", "xmpp.chat_commands"), ("A", "rooms.plugin['x'].flag"), ("A", "setattr(other, 'sink', self)")]


def test_no_constructor_sets_attributes_on_an_object_it_was_given() -> None:
    found = {(str(path.relative_to(ROOT)), cls, target)
             for path in sorted(ROOT.rglob("*.py"))
             for cls, target in patched_parameters(path.read_text(encoding="utf-8"))}
    assert found - ALLOWED.keys() == set(), "wire these in gateway/app.py (arguments or explicit connect calls)"
    assert ALLOWED.keys() - found == set(), "an allowed exception that no longer exists: remove it from ALLOWED"
