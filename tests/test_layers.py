"""The rules of the house, checked on what each layer really imports (in a fresh interpreter)."""

from __future__ import annotations

import subprocess
import sys

import pytest

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
