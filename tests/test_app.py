"""The running process: what `Gateway.run` does around start and stop."""

from __future__ import annotations

import asyncio
import gc
import sys
from pathlib import Path

from gateway.app import Gateway
from gateway.config import parse_config
from gateway.devstack.ports import free_port
from gateway.devstack.prosody import ProsodyServer
from tests.support.stack import raw_config, wait_until


async def test_run_freezes_what_start_up_left_so_that_collections_skip_it(
        prosody: ProsodyServer, tmp_path: Path, sqlite_url: str) -> None:
    raw = raw_config(component_port=prosody.component_port, http_port=free_port(), database_url=sqlite_url)
    gateway = Gateway(parse_config(raw, tmp_path / "config.toml", {}))
    switch_interval = sys.getswitchinterval()
    assert gc.get_freeze_count() == 0
    running = asyncio.create_task(gateway.run())
    try:
        await wait_until(lambda: gc.get_freeze_count() > 0 or running.done())
        assert gc.get_freeze_count() > 10_000  # the libraries' modules, classes and data
    finally:
        gateway.request_stop()
        await running
        gc.unfreeze()
        sys.setswitchinterval(switch_interval)
