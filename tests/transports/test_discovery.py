"""Transports are found through entry points; the built-in ones register the same way as any other."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from gateway.transports.discovery import descriptors


def test_the_built_in_transports_are_found_by_their_entry_points() -> None:
    found = descriptors()
    assert list(found) == ["irc", "loopback", "sms"]
    for kind, descriptor in found.items():
        adapter = descriptor.adapter_class()
        assert descriptor.kind == adapter.name == kind


def test_run_imports_only_the_configured_transports(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[transports.loopback]\njid = "loopback.example.org"\nsecret = "s"\n')
    probe = textwrap.dedent(f"""
        import sys
        from pathlib import Path
        from gateway.config import load_config
        from gateway.transports.discovery import descriptor
        for name in load_config(Path({str(config)!r}), {{}}).transports:
            descriptor(name).adapter_class()
        print(" ".join(m for m in sys.modules if m.startswith("gateway.transports.") and m.endswith(".transport")))
    """)
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60)
    assert result.stdout.split() == ["gateway.transports.loopback.transport"]
