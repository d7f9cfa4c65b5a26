"""GET /healthz, GET /metrics, plus whatever routes the transports bring."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST

from gateway.web.metrics import Metrics


@dataclass(frozen=True)
class Health:
    components: dict[str, str]  # component JID -> state
    database: str | None = None  # why journal writes fail; None while they succeed


HealthProbe = Callable[[], Awaitable[Health]]


def build_app(health: HealthProbe, metrics: Metrics, routes: Iterable[web.RouteDef] = ()) -> web.Application:
    async def healthz(_request: web.Request) -> web.Response:
        found = await health()
        components = found.components
        ok = bool(components) and all(state == "connected" for state in components.values()) and (
            found.database is None)
        return web.json_response({"status": "ok" if ok else "degraded", "components": components,
                                  "database": found.database or "ok"}, status=200 if ok else 503)

    async def metrics_view(_request: web.Request) -> web.Response:
        return web.Response(body=metrics.render(), headers={"Content-Type": CONTENT_TYPE_LATEST})

    app = web.Application()
    app.add_routes([web.get("/healthz", healthz), web.get("/metrics", metrics_view), *routes])
    return app


class WebServer:
    def __init__(self, app: web.Application, host: str, port: int) -> None:
        self._runner = web.AppRunner(app, access_log=None)
        self._host = host
        self._port = port

    async def start(self) -> None:
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, self._port)
        await site.start()

    async def stop(self) -> None:
        await self._runner.cleanup()
