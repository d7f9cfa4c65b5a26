"""The twilio SDK logs every API call at INFO (about 12 lines, headers included): below WARNING those lines are
shown only when the gateway's own level is debug. Real SDK calls against the sandbox, through setup_logging."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from gateway.logs import setup_logging
from gateway.transports.sms.sandbox import SmsSandbox
from gateway.transports.sms.twilio_client import close_client, make_client
from tests.transports.sms.conftest import GATEWAY_NUMBER, PHONE, sms_settings


@pytest.fixture(autouse=True)
def restore_loggers() -> Iterator[None]:
    root, twilio = logging.getLogger(), logging.getLogger("twilio")
    handlers, levels = root.handlers[:], (root.level, twilio.level)
    yield
    root.handlers[:] = handlers
    root.setLevel(levels[0])
    twilio.setLevel(levels[1])


async def _one_call(sandbox: SmsSandbox) -> None:
    client = make_client(sms_settings(sandbox.url))
    try:
        await client.messages.create_async(to=PHONE, from_=GATEWAY_NUMBER, body="hello")
    finally:
        await close_client(client)


def _twilio_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if " twilio." in line]


@pytest.mark.parametrize("level", ["info", "warning"])
async def test_the_sdk_is_quiet_unless_the_gateway_logs_at_debug(
        level: str, sandbox: SmsSandbox, capsys: pytest.CaptureFixture[str]) -> None:
    setup_logging(level)
    await _one_call(sandbox)
    assert _twilio_lines(capsys.readouterr().err) == []


async def test_the_sdk_speaks_at_debug(sandbox: SmsSandbox, capsys: pytest.CaptureFixture[str]) -> None:
    setup_logging("debug")
    await _one_call(sandbox)
    lines = _twilio_lines(capsys.readouterr().err)
    assert any("BEGIN Twilio API Request" in line for line in lines), lines


async def test_the_sdk_warnings_still_show(sandbox: SmsSandbox, capsys: pytest.CaptureFixture[str]) -> None:
    setup_logging("info")
    logging.getLogger("twilio.async_http_client").warning("something the SDK wants said")
    assert _twilio_lines(capsys.readouterr().err) != []
