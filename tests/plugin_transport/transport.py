"""The pager adapter: a page is delivered at once and answered with the tone its sender chose."""

from __future__ import annotations

from gateway.core.events import InboundMessage, OutboundMessage, Outcome, Status
from gateway.transports.base import Transport
from tests.plugin_transport.addressing import pager_number
from tests.plugin_transport.settings import PagerSettings


class PagerTransport(Transport[PagerSettings]):
    name = "pager"
    gateway_type = "pager"
    description = "Pager: write to p<digits>@this-domain; every page is answered with a tone."

    def normalize_peer(self, local_part: str) -> str:
        return pager_number(local_part)

    async def send(self, message: OutboundMessage) -> None:
        provider_id = f"page-{message.journal_id}"
        await self.router.receive(InboundMessage(transport=self.name, user=message.user, peer=message.peer,
                                                 body=f"({self.settings.default_tone})", provider_id=provider_id))
        await self.router.outcome(Outcome(message, Status.DELIVERED, provider_id=provider_id))
