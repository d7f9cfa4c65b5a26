"""SMS end to end: real Prosody, the gateway in-process, the real twilio SDK against the project's sandbox."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from gateway.app import Gateway
from gateway.devstack.ports import free_port
from gateway.devstack.prosody import ComponentSpec, ProsodyServer, prosody_available
from gateway.transports.sms.sandbox import SmsSandbox
from tests.support.stack import raw_config, start_gateway

SMS = "sms.localhost"
SMS_SECRET = "sms-secret"
ACCOUNT_SID = "AC" + "5a" * 16
AUTH_TOKEN = "sandbox-auth-token"
ALICE_NUMBER = "+12025550100"  # the Twilio number an admin binds to alice
PEER = "+12025550123"  # a phone out there


@pytest.fixture
def prosody(tmp_path: Path) -> Iterator[ProsodyServer]:
    """Overrides the root fixture: Prosody with the SMS component declared."""
    if not prosody_available():
        pytest.skip("prosody is not installed")
    with ProsodyServer(tmp_path / "prosody", components=[ComponentSpec(SMS, SMS_SECRET)]) as server:
        yield server


@pytest.fixture
async def sandbox() -> AsyncIterator[SmsSandbox]:
    sandbox = SmsSandbox(ACCOUNT_SID, AUTH_TOKEN, numbers=[ALICE_NUMBER], status_delay=0.01, retry_delay=0.05)
    await sandbox.start()
    yield sandbox
    await sandbox.stop()


def sms_config(prosody: ProsodyServer, sandbox: SmsSandbox, database_url: str, http_port: int,
               **settings: Any) -> dict[str, Any]:
    """A gateway config with the SMS transport pointed at the sandbox; the sandbox's webhooks at the gateway."""
    sandbox.webhook_url = f"http://127.0.0.1:{http_port}/sms/inbound"
    transport = {"jid": SMS, "secret": SMS_SECRET, "account_sid": ACCOUNT_SID, "auth_token": AUTH_TOKEN,
                 "api_base_url": sandbox.url, "rate": 100.0, "burst": 100, "access": "open", **settings}
    return raw_config(component_port=prosody.component_port, http_port=http_port, database_url=database_url,
                      transports={"sms": transport})


async def bind_alice(gateway: Gateway) -> None:
    assert gateway.store is not None
    await gateway.store.users.add("alice@localhost")
    await gateway.store.bindings.bind("alice@localhost", "sms", ALICE_NUMBER)


@pytest.fixture
async def gateway(prosody: ProsodyServer, sandbox: SmsSandbox, tmp_path: Path, sqlite_url: str
                  ) -> AsyncIterator[Gateway]:
    """Overrides the root fixture: the gateway with only the SMS transport, alice bound to ALICE_NUMBER."""
    running = await start_gateway(sms_config(prosody, sandbox, sqlite_url, free_port()), tmp_path)
    await bind_alice(running)
    yield running
    await running.stop()


# -- added for the SMS issue's tests: a recording sandbox and gateways started with chosen settings -------------
@pytest.fixture
async def recording_sandbox() -> AsyncIterator[Any]:
    """The sandbox, plus a log of every API request (tests.e2e.sms.support.RecordingSandbox)."""
    from tests.e2e.sms.support import make_sandbox

    sandbox = make_sandbox()
    await sandbox.start()
    yield sandbox
    sandbox.release()
    await sandbox.stop()


class SmsStack:
    """Starts (and restarts) in-process gateways on one database and one HTTP port, with chosen settings."""

    def __init__(self, prosody: ProsodyServer, sandbox: SmsSandbox, tmp_path: Path, database_url: str) -> None:
        self.prosody, self.sandbox, self.tmp_path, self.database_url = prosody, sandbox, tmp_path, database_url
        self.http_port = free_port()
        self.running: list[Gateway] = []
        self._bound = False

    async def start(self, **settings: Any) -> Gateway:
        """A gateway with these [transports.sms] settings; alice is bound to ALICE_NUMBER on the first start."""
        raw = sms_config(self.prosody, self.sandbox, self.database_url, self.http_port, **settings)
        running = await start_gateway(raw, self.tmp_path)
        self.running.append(running)
        if not self._bound:
            await bind_alice(running)
            self._bound = True
        return running

    async def stop(self, running: Gateway) -> None:
        self.running.remove(running)
        await running.stop()

    async def close(self) -> None:
        for running in list(self.running):
            await self.stop(running)


@pytest.fixture
async def sms_stack(prosody: ProsodyServer, sandbox: SmsSandbox, tmp_path: Path, sqlite_url: str
                    ) -> AsyncIterator[SmsStack]:
    stack = SmsStack(prosody, sandbox, tmp_path, sqlite_url)
    yield stack
    await stack.close()
