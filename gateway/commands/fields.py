"""Fields that commands of several areas share (the shared admin commands and transports' own)."""

from __future__ import annotations

from gateway.commands.command import Field, FieldType

USER_JID = Field("jid", "User JID", FieldType.JID)
