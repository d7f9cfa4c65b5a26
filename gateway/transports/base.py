"""The interface every transport adapter implements. Transports speak core types, never XMPP stanzas."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Generic, TypeVar

from gateway.core.events import ContactPresence, OutboundMessage, Refusal
from gateway.core.rooms import RoomTransport
from gateway.transports.settings import TransportSettings

if TYPE_CHECKING:  # the command line reads transports' addresses without loading the web and database stacks
    from aiohttp import web

    from gateway.core.router import Router
    from gateway.store.store import Store

S = TypeVar("S", bound=TransportSettings)


class AddressError(Refusal):
    """A local part that is no valid address on this transport (rendered as jid-malformed)."""

    def __init__(self, text: str) -> None:
        super().__init__("jid-malformed", text)


@dataclass(frozen=True)
class TransportContext:
    """What app.py hands every transport."""

    router: Router
    store: Store  # repositories only: SQL stays in store/
    public_url: str  # the gateway's HTTP base URL as the outside world calls it (webhooks, callbacks)
    # The instance's name, its `[transports.<name>]` table; None: the kind's own name. Several instances of a
    # kind (two SMS accounts on two domains) keep apart by it.
    name: str | None = None


class Transport(ABC, Generic[S]):
    # A subclass sets its kind here; an instance is called by its table's name, which keys its journal rows,
    # bindings, contacts and memberships.
    name: str
    # XEP-0100 / disco identity: category "gateway", this type (sms, irc, ...).
    gateway_type: ClassVar[str]
    description: ClassVar[str]
    features: ClassVar[tuple[str, ...]] = ()
    # XEP-0100 jabber:iq:gateway: what the user is asked for ("Phone number"); None when not offered.
    prompt: ClassVar[str | None] = None

    def __init__(self, settings: S, context: TransportContext) -> None:
        self.settings = settings
        self.context = context
        self.router = context.router
        if context.name is not None:
            self.name = context.name

    @abstractmethod
    def normalize_peer(self, local_part: str) -> str:
        """The canonical foreign address for a JID's (unescaped) local part; raise AddressError if invalid."""

    @abstractmethod
    async def send(self, message: OutboundMessage) -> None:
        """Take a journaled message; report its outcome through `self.router.outcome` (now or later).

        Raise Refusal to fail it with a text for the sender.
        """

    def contact_presence(self, user: str, peer: str) -> ContactPresence:
        """The presence `user` sees for `peer` (a JID local part, unescaped). Phones and echoes are always there."""
        return ContactPresence()

    def address_from_prompt(self, text: str) -> str:
        """The foreign address (JID local part, unescaped) for what a user typed at the XEP-0100 prompt."""
        raise AddressError("This gateway does not translate addresses.")

    def help_text(self) -> str:
        return self.description

    def room_service(self) -> RoomTransport | None:
        """The transport's group chats (XEP-0045 on the XMPP side), if it has any."""
        return None

    def routes(self) -> list[web.RouteDef]:
        """HTTP routes this transport mounts on the shared web server (webhooks)."""
        return []

    async def user_left(self, user: str) -> None:
        """`user` unregistered or was removed from this transport: close what is open for them."""

    async def start(self) -> None:
        """Open what the transport needs; called before the router resumes its journal."""

    async def stop(self) -> None:
        """Finish in-flight work and close connections."""
