"""Small helpers the end-to-end tests share: HTTP probes of a running gateway, read without blocking the loop."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from tests.support.stack import http_get


async def healthz(base_url: str) -> tuple[int, dict[str, Any]]:
    # http_get blocks: run it in a thread, or an in-process gateway could not answer it.
    status, body = await asyncio.to_thread(http_get, base_url + "/healthz")
    return status, json.loads(body)


async def metric(base_url: str, name: str, **labels: str) -> float:
    """One sample of /metrics (0 when absent), e.g. metric(url, "xmpp_gateway_messages_total", ...)."""
    status, body = await asyncio.to_thread(http_get, base_url + "/metrics")
    assert status == 200
    for family in text_string_to_metric_families(body.decode()):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return float(sample.value)
    return 0.0
