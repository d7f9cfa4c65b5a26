"""What an IRC connection refuses with: each a `Refusal`, so the XMPP side shows the condition and the text."""

from __future__ import annotations

from typing import Literal

from gateway.core.events import ErrorCondition, Refusal

JoinErrorKind = Literal["banned", "invite-only", "bad-key", "full", "other", "timeout", "disconnected"]
_JOIN_CONDITIONS: dict[JoinErrorKind, ErrorCondition] = {
    "banned": "forbidden",
    "invite-only": "registration-required",
    "bad-key": "not-authorized",
    "full": "service-unavailable",
    "other": "not-allowed",
    "timeout": "remote-server-timeout",
    "disconnected": "remote-server-timeout",
}


class ConnectError(Refusal):
    """The connection could not be opened or registered; the text says why (TLS, refused, password...)."""

    def __init__(self, text: str) -> None:
        super().__init__("remote-server-not-found", text)


class NotConnected(Refusal):
    def __init__(self, text: str) -> None:
        super().__init__("recipient-unavailable", text)


class JoinError(Refusal):
    """A JOIN the server refused (`kind` from the numeric) or that got no answer; `text` is the server's."""

    def __init__(self, kind: JoinErrorKind, channel: str, text: str) -> None:
        super().__init__(_JOIN_CONDITIONS[kind], text)
        self.kind: JoinErrorKind = kind
        self.channel = channel


class NickError(Refusal):
    def __init__(self, text: str) -> None:
        super().__init__("conflict", text)


def disconnected(reason: str) -> str:
    """The text of a request the link's drop left unanswered."""
    return f"Disconnected from the network: {reason}"
