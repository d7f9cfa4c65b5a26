"""The SMS transport in `xmpp-gateway demo`: the local Twilio sandbox and its phone page stand in for Twilio and
for the phone, and the demo user gets a number to text from."""

from __future__ import annotations

from gateway.devstack.ports import LOOPBACK
from gateway.store.store import Store
from gateway.transports.descriptor import DemoPlace, TransportDemo
from gateway.transports.sms import admin
from gateway.transports.sms.sandbox import SmsSandbox
from gateway.transports.sms.webhooks import inbound_path

# Numbers of the fictional 555-01xx range: valid in form, owned by nobody.
DEMO_NUMBER = "+12025550100"
PHONE_NUMBER = "+12025550123"
SANDBOX_ACCOUNT = "AC" + "de" * 16
SANDBOX_PORT = 8088


class SmsDemo(TransportDemo):
    def __init__(self) -> None:
        self.sandbox: SmsSandbox | None = None

    async def start(self, place: DemoPlace) -> str:
        # Status callbacks a second late, as from a real network: the receipt comes visibly after the message.
        self.sandbox = SmsSandbox(SANDBOX_ACCOUNT, place.secret, f"{place.http_url}{inbound_path(place.name)}",
                                  numbers=[DEMO_NUMBER], status_delay=1.0)
        await self.sandbox.start(LOOPBACK, place.pick_port(SANDBOX_PORT))
        return f"""account_sid = "{SANDBOX_ACCOUNT}"
auth_token = "{place.secret}"
api_base_url = "{self.sandbox.url}"
rate = 5
burst = 5
"""

    async def ready(self, store: Store, place: DemoPlace) -> None:
        # Only an admin binds numbers; a demo run again on the same directory finds its binding kept.
        if not await store.bindings.find(place.name, place.user):
            await admin.bind(store, place.name, place.user, DEMO_NUMBER, None)

    def banner(self, place: DemoPlace) -> str:
        url = self.sandbox.url if self.sandbox is not None else "(not started)"
        return (f" SMS: your number is {DEMO_NUMBER}. Text  {PHONE_NUMBER}@{place.domain}  (or any +number@"
                f"{place.domain});\n   the phone page  {url}/  shows it, and replies from there come back to you.\n"
                f"   Numbers bound: xmpp-gateway admin sms list -c {place.config}\n")

    async def stop(self) -> None:
        if self.sandbox is not None:
            await self.sandbox.stop()
