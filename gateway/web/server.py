"""GET /healthz, GET /metrics, plus whatever routes the transports bring."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web_protocol import RequestPayloadError
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


class _ClientErrorsInOneLine(logging.Filter):
    """aiohttp logs a request it could not read (a bad URL, a body that does not decode) at ERROR with a traceback,
    though it answers it with a 4xx: the client's fault, and anyone could fill the log with them. One warning line
    each instead."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        # RequestPayloadError: a body that does not decode, met while aiohttp drains what the handler left unread.
        if (isinstance(error, HttpProcessingError) and 400 <= error.code < 500) or isinstance(
                error, RequestPayloadError):
            reason = (str(error).strip() or type(error).__name__).splitlines()[0]
            record.msg, record.args = "%s: %s", (record.getMessage(), reason[:200])
            record.levelno, record.levelname = logging.WARNING, "WARNING"
            record.exc_info = record.exc_text = None
        return True


_ONE_LINE = _ClientErrorsInOneLine()


class WebServer:
    def __init__(self, app: web.Application, host: str, port: int) -> None:
        logging.getLogger("aiohttp.server").addFilter(_ONE_LINE)  # the same filter once, however many servers
        self._runner = web.AppRunner(app, access_log=None)
        self._host = host
        self._port = port

    async def start(self) -> None:
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, self._port)
        await site.start()

    async def stop(self) -> None:
        await self._runner.cleanup()
