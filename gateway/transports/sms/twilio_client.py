"""The twilio SDK's async client, pointed at `api_base_url`: Twilio in production, the sandbox in development.

The SDK has no base-URL option, so a subclass of its aiohttp-based HTTP client rewrites the scheme and host of
every `*.twilio.com` URL it is asked to call; everything else (auth, paging, error parsing) stays the SDK's own.
"""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from gateway.transports.sms.settings import TWILIO_API_BASE_URL, SmsSettings

# The SDK reads TWILIO_ACCOUNT_SID, TWILIO_EDGE, TWILIO_REGION ... from `environment or os.environ`: an empty dict
# is falsy and would let the process environment in again, so it gets a dict holding nothing it looks for.
_NO_ENVIRONMENT = {"XMPP_GATEWAY_TWILIO_ENVIRONMENT": "ignored"}


def rewrite_url(url: str, base_url: str) -> str:
    """`url` with the scheme and host of a `*.twilio.com` URL replaced by `base_url`'s (its path prefixed)."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if host != "twilio.com" and not host.endswith(".twilio.com"):
        return url
    base = urlsplit(base_url)
    path = base.path.rstrip("/") + parts.path
    return urlunsplit((base.scheme, base.netloc, path, parts.query, parts.fragment))


def basic_authorization(login: str, password: str) -> str:
    """An HTTP basic Authorization header value (RFC 7617)."""
    return "Basic " + base64.b64encode(f"{login}:{password}".encode()).decode("ascii")


class RewritingHttpClient(AsyncTwilioHttpClient):  # type: ignore[misc]  # the SDK ships no type hints
    """An AsyncTwilioHttpClient that sends Twilio API calls to `base_url`, and honours its own timeout.

    The SDK's async client passes each call's `timeout` (None unless a caller gives one) straight to aiohttp,
    where None means no limit at all: this one uses the client's timeout instead.
    """

    def __init__(self, base_url: str, timeout: float | None = None, **kwargs: Any) -> None:
        super().__init__(timeout=timeout, **kwargs)
        self.base_url = base_url.rstrip("/")

    async def request(
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> Response:
        if self.base_url != TWILIO_API_BASE_URL:
            url = rewrite_url(url, self.base_url)
        if auth is not None:
            # The SDK would hand aiohttp a BasicAuth object, which aiohttp deprecates: send the header ourselves.
            headers = {**(headers or {}), "Authorization": basic_authorization(*auth)}
            auth = None
        # A dict would become aiohttp's FormData, which makes a multipart writer (a uuid4 boundary, an os.urandom
        # call) only to url-encode it in the end: the same bytes, encoded here. The SDK sets the Content-Type.
        body = urlencode(data, doseq=True).encode() if data else data
        response: Response = await super().request(
            method,
            url,
            params=params,
            data=body,
            headers=headers,
            auth=auth,
            timeout=timeout if timeout is not None else self.timeout,
            allow_redirects=allow_redirects,
        )
        return response


def make_client(settings: SmsSettings) -> Client:
    """A twilio REST client for the settings' account, reaching `api_base_url` through the async HTTP client.

    Call it inside the running event loop (the HTTP client opens an aiohttp session); close it with
    `close_client`. Use the SDK's `*_async` methods only.
    """
    http_client = RewritingHttpClient(settings.api_base_url, timeout=settings.request_timeout)
    return Client(
        username=settings.account_sid,
        password=settings.auth_token.get_secret_value(),
        account_sid=settings.account_sid,
        http_client=http_client,
        environment=dict(_NO_ENVIRONMENT),
    )


async def close_client(client: Client) -> None:
    """Close the aiohttp session behind a client from `make_client`."""
    http_client = client.http_client
    if isinstance(http_client, AsyncTwilioHttpClient):
        await http_client.close()
