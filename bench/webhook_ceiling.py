"""The webhook load generator's own ceiling: signed inbound webhooks posted as the SMS paths post them, to a bare
aiohttp server in a process of its own that only checks the signature (twilio's RequestValidator) and answers 200.
What the gateway reaches on the webhook paths is bounded by this.

`python -m bench.webhook_ceiling` prints it; `python -m bench.webhook_ceiling --serve PORT` is the server.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import time

from aiohttp import web
from twilio.request_validator import RequestValidator

from bench.sms_load import inbound_params
from gateway.devstack.ports import free_port

TOKEN = "ceiling-token"
ACCOUNT = "AC" + "0" * 32


def serve(port: int) -> None:
    validator = RequestValidator(TOKEN)

    async def handle(request: web.Request) -> web.Response:
        form = await request.post()
        url = f"http://127.0.0.1:{port}{request.path_qs}"
        if not validator.validate(url, {k: str(v) for k, v in form.items()},
                                  request.headers.get("X-Twilio-Signature", "")):
            return web.Response(status=403)
        return web.Response(text="<Response></Response>", content_type="text/xml")

    app = web.Application()
    app.router.add_post("/inbound", handle)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


async def ceiling(seconds: float = 3.0, window: int = 100) -> float:
    """Webhooks/s answered by the bare server, `window` in flight (as the SMS paths keep at most 100)."""
    import aiohttp

    port = free_port()
    server = await asyncio.create_subprocess_exec(sys.executable, "-m", "bench.webhook_ceiling", "--serve", str(port))
    url = f"http://127.0.0.1:{port}/inbound"
    validator = RequestValidator(TOKEN)
    try:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=64)) as session:
            for _ in range(100):  # until it listens
                with contextlib.suppress(aiohttp.ClientError):
                    async with session.get(f"http://127.0.0.1:{port}/"):
                        break
                await asyncio.sleep(0.05)
            done = 0

            async def post() -> None:
                nonlocal done
                params = inbound_params(ACCOUNT, "+13035550000", "+12025550000", f"m-{done}")
                headers = {"X-Twilio-Signature": validator.compute_signature(url, params)}
                async with session.post(url, data=params, headers=headers) as response:
                    await response.read()
                    if response.status == 200:
                        done += 1

            start = time.perf_counter()
            while time.perf_counter() - start < seconds:
                await asyncio.gather(*(post() for _ in range(window)))
            return done / (time.perf_counter() - start)
    finally:
        server.terminate()
        await server.wait()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.webhook_ceiling", description=__doc__.splitlines()[0])
    parser.add_argument("--serve", type=int, metavar="PORT", help="be the bare server on this port")
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
    else:
        print(f"signed webhooks to a bare server: {asyncio.run(ceiling()):,.0f}/s")


if __name__ == "__main__":
    main()
