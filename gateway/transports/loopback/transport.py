"""A transport whose far end answers every message with the same text, from the same address."""

from __future__ import annotations

from gateway.core.events import InboundMessage, OutboundMessage, Outcome, Status
from gateway.transports.base import AddressError, Transport
from gateway.transports.loopback.settings import LoopbackSettings


class LoopbackTransport(Transport[LoopbackSettings]):
    name = "loopback"
    gateway_type = "loopback"
    description = ("Loopback: every message you send to anything@this-domain comes back from that address. "
                   "It tests the gateway without an outside network.")

    def normalize_peer(self, local_part: str) -> str:
        if not local_part.strip():
            raise AddressError("Write to an address such as echo@ this domain.")
        return local_part

    async def send(self, message: OutboundMessage) -> None:
        # The provider id is derived from the journal id, so a resend after a crash is recognised as the
        # same echo and delivered once. The echo is journaled before the outcome: until the outcome is
        # recorded the outbound row stays accepted and is sent again at the next start, so a crash between
        # the two writes cannot lose the echo.
        provider_id = f"loop-{message.journal_id}"
        await self.router.receive(InboundMessage(transport=self.name, user=message.user, peer=message.peer,
                                                 body=message.body, provider_id=provider_id,
                                                 media=message.media))
        await self.router.outcome(Outcome(message, Status.DELIVERED, provider_id=provider_id))
