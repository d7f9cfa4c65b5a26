"""The rules of the house, checked on what each layer really imports (in a fresh interpreter)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from gateway.transports.discovery import descriptors

PROBE = """
import importlib, sys
for name in sys.argv[1].split(","):
    importlib.import_module(name)
print(",".join(sorted({m.split(".")[0] for m in sys.modules})))
"""


def _top_level_modules(*modules: str) -> set[str]:
    result = subprocess.run([sys.executable, "-c", PROBE, ",".join(modules)], capture_output=True, text=True,
                            check=True, timeout=60)
    return set(result.stdout.strip().split(","))


@pytest.mark.parametrize(("layer", "modules", "forbidden"), [
    ("core", ["gateway.core.router", "gateway.core.rooms", "gateway.core.policy"],
     {"slixmpp", "twilio", "irc", "sqlalchemy", "aiohttp"}),
    ("xmpp", ["gateway.xmpp.component", "gateway.xmpp.muc", "gateway.xmpp.administration"], {"twilio", "irc"}),
    ("transports", ["gateway.transports.sms.transport", "gateway.transports.irc.transport",
                    "gateway.transports.loopback.transport", "gateway.transports.discovery",
                    "gateway.transports.sms.descriptor", "gateway.transports.irc.descriptor",
                    "gateway.transports.loopback.descriptor", "gateway.commands.command_set"], {"slixmpp"}),
])
def test_a_layer_imports_nothing_it_must_not(layer: str, modules: list[str], forbidden: set[str]) -> None:
    assert _top_level_modules(*modules) & forbidden == set(), layer


# -- a transport is one folder: the shared layers name none -------------------------------------------------
ROOT = Path(__file__).resolve().parents[1] / "gateway"
# Development tooling that starts the transports' own test servers, not part of any layer.
NOT_SHARED = {Path("devstack")}


def naming_transports(source: str, kinds: set[str]) -> list[str]:
    """Where `source` names one of `kinds`: an import of its package, or a string that is its name (as in
    `name == "sms"` or `{"irc": ...}`) or its module path."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module is not None:
            modules = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            if node.value.strip().lower() in kinds:
                found.append((node.lineno, repr(node.value)))
            modules = [node.value]
        else:
            continue
        found += [(node.lineno, module) for module in modules for kind in kinds
                  if module == f"gateway.transports.{kind}" or f"gateway.transports.{kind}." in module
                  or f"gateway.transports.{kind}:" in module]
    return [f"line {line}: {what}" for line, what in sorted(found)]


def _shared_modules() -> list[Path]:
    modules = []
    for path in sorted(ROOT.rglob("*.py")):
        relative = path.relative_to(ROOT)
        if relative.parts[0] == "transports" and len(relative.parts) > 2:
            continue  # a transport's own folder
        if not NOT_SHARED.intersection({relative, *relative.parents}):
            modules.append(path)
    return modules


def test_the_check_finds_a_transport_named_in_shared_code() -> None:
    source = ('from gateway.transports.sms import admin\nimport gateway.transports.irc.addressing\n'
              'from gateway.transports import loopback\n'
              'if transport.name == "irc":\n    TABLES = {"SMS": 1}\nADAPTER = "gateway.transports.sms.transport:X"\n')
    assert naming_transports(source, {"sms", "irc", "loopback"}) == [
        "line 1: gateway.transports.sms", "line 1: gateway.transports.sms.admin",
        "line 2: gateway.transports.irc.addressing", "line 3: gateway.transports.loopback",
        "line 4: 'irc'", "line 5: 'SMS'", "line 6: gateway.transports.sms.transport:X"]
    assert naming_transports('NAME = "smsc"\nfrom gateway.transports.base import Transport\n', {"sms"}) == []


def test_no_shared_module_names_a_transport() -> None:
    kinds = set(descriptors())
    modules = _shared_modules()
    assert ROOT / "cli.py" in modules and ROOT / "transports" / "discovery.py" in modules
    found = {str(path.relative_to(ROOT)): hits for path in modules
             if (hits := naming_transports(path.read_text(encoding="utf-8"), kinds))}
    assert found == {}
