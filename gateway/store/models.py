"""The schema. Alembic revisions in migrations/ must build exactly this (a test compares them)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets a 64-bit key.
BigId = BigInteger().with_variant(Integer(), "sqlite")


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A point in time, stored and returned in UTC on every database.

    SQLite keeps datetimes as text without their offset, and asyncpg reads a naive datetime as the
    machine's local time: both would make comparisons (the purge's cutoff) wrong. So values are converted
    to UTC on the way in (a naive one is taken as UTC) and come back aware.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    })


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    jid: Mapped[str] = mapped_column(String(3071), unique=True)
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class UserTransport(Base):
    """A user's membership of one transport: an admin added them for it, or they registered with it.

    A `closed` transport admits only its members (and admins). `nick` is the name the user gave at
    registration (XEP-0100), e.g. their default IRC nick.
    """

    __tablename__ = "user_transports"
    __table_args__ = (UniqueConstraint("user_id", "transport"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    transport: Mapped[str] = mapped_column(String(64))
    nick: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Binding(Base):
    """A user's own identity on a transport, e.g. the SMS number an admin bound to them."""

    __tablename__ = "bindings"
    __table_args__ = (UniqueConstraint("user_id", "transport", "address"),
                      Index("ix_bindings_transport_address", "transport", "address"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    transport: Mapped[str] = mapped_column(String(64))
    address: Mapped[str] = mapped_column(String(255))
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Contact(Base):
    """A foreign address mapped into a user's roster under a name."""

    __tablename__ = "contacts"
    __table_args__ = (UniqueConstraint("user_id", "transport", "address"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    transport: Mapped[str] = mapped_column(String(64))
    address: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(255))
    roster_group: Mapped[str | None] = mapped_column(String(255), nullable=True)
    # The user's own address to use toward this contact, e.g. which of their SMS numbers; None: the default.
    via: Mapped[str | None] = mapped_column(String(255), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RosterItem(Base):
    """A mapped contact a component put in a user's roster: what must be taken out when the mapping goes.

    Keyed by the user's JID, not their row: the items stay known after the user is deleted, until removed.
    """

    __tablename__ = "roster_items"
    __table_args__ = (UniqueConstraint("transport", "user_jid", "address"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    transport: Mapped[str] = mapped_column(String(64))
    user_jid: Mapped[str] = mapped_column(String(3071))
    address: Mapped[str] = mapped_column(String(255))  # the contact's foreign address (its JID's local part)
    name: Mapped[str] = mapped_column(String(255))
    roster_group: Mapped[str | None] = mapped_column(String(255), nullable=True)


class RosterChange(Base):
    """A user whose contacts on a transport changed since their roster was last brought up to date.

    Written in the same transaction as the change; the component deletes the rows it has handled, so an idle
    gateway reads an empty index range instead of every contact.
    """

    __tablename__ = "roster_changes"
    __table_args__ = (Index("ix_roster_changes_transport", "transport"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    transport: Mapped[str] = mapped_column(String(64))
    user_jid: Mapped[str] = mapped_column(String(3071))


class RoomMember(Base):
    """A user's resource in a room of a room transport (XEP-0045), so that a restart restores the membership.

    Keyed by the user's JID (as the journal is): anyone the transport admits may join a room.
    """

    __tablename__ = "room_members"
    __table_args__ = (UniqueConstraint("transport", "user_jid", "room", "resource"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    transport: Mapped[str] = mapped_column(String(64))
    user_jid: Mapped[str] = mapped_column(String(3071))
    room: Mapped[str] = mapped_column(String(1023))  # the room's foreign address (its JID's local part)
    resource: Mapped[str] = mapped_column(String(1023))  # the joined resource of the user
    nick: Mapped[str] = mapped_column(String(1023))  # the user's nick in the room, as the network has it
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# The rows the journal's unique provider ids cover (uq_journal_provider); an upsert names it as its conflict target.
PROVIDER_ID_SET = text("provider_id IS NOT NULL")


class JournalEntry(Base):
    """Every message in either direction, written before the gateway acts on it."""

    __tablename__ = "journal"
    __table_args__ = (
        # A provider id is unique per transport, direction and user: a shared SMS line delivers one text
        # to several users. Rows without one (most IRC lines) stay out of the index: one entry per member of a room
        # made it the costliest of a room line's writes.
        Index("uq_journal_provider", "transport", "direction", "user_jid", "provider_id", unique=True,
              sqlite_where=PROVIDER_ID_SET, postgresql_where=PROVIDER_ID_SET),
        Index("ix_journal_open", "transport", "direction", "status"),
        Index("ix_journal_created", "created_at"),
        # A user's rows, and a room's archive (gateway.store.archive): one user's lines in one room, paged by id.
        Index("ix_journal_archive", "user_jid", "peer", "transport", "id"),
        # The lines one nick said (MAM `with`), the user's among the room's members': by (user, room, nick) the index
        # would have a place for each, and a batch of lines from many speakers would write a page of it per row.
        Index("ix_journal_archive_nick", "peer", "room_nick", "id", "user_jid"),
        Index("ix_journal_stanza_id", "stanza_id"),  # a MAM query names lines by their stanza-id
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    direction: Mapped[str] = mapped_column(String(3))
    transport: Mapped[str] = mapped_column(String(64))
    user_jid: Mapped[str] = mapped_column(String(3071))
    resource: Mapped[str | None] = mapped_column(String(1023), nullable=True)
    peer: Mapped[str] = mapped_column(String(1023))
    xmpp_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    provider_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    status: Mapped[str] = mapped_column(String(16))
    receipt_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    reported: Mapped[bool] = mapped_column(Boolean, default=False)
    body: Mapped[str] = mapped_column(Text, default="")
    extra: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True), nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # A room line's sender (inbound; "" for the room itself) or the user's nick when they said it (outbound).
    room_nick: Mapped[str | None] = mapped_column(String(1023), nullable=True)
    # Set on a line said in a room only: the stanza-id it was shown with, the id of its copy in the room's archive.
    stanza_id: Mapped[str | None] = mapped_column(String(255), nullable=True)


# -- SMS transport --------------------------------------------------------------------------------------------
class SmsOptOut(Base):
    """A recipient who texted STOP to one of our numbers: Twilio refuses further texts from it (21610)."""

    __tablename__ = "sms_opt_outs"
    __table_args__ = (UniqueConstraint("sender", "recipient"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sender: Mapped[str] = mapped_column(String(32))
    recipient: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SmsBlock(Base):
    """A number whose texts a user does not want on one SMS transport: they are journaled as blocked, never
    delivered."""

    __tablename__ = "sms_blocks"
    __table_args__ = (UniqueConstraint("user_id", "transport", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    transport: Mapped[str] = mapped_column(String(64))  # the instance's name
    number: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SmsUsage(Base):
    """Segments a user sent on one UTC day through one SMS transport, for its daily limit."""

    __tablename__ = "sms_usage"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    transport: Mapped[str] = mapped_column(String(64), primary_key=True)  # the instance's name
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    segments: Mapped[int] = mapped_column(Integer, default=0)


class SmsPart(Base):
    """What Twilio last reported of one part of a text sent in several: the text's receipt waits for every part.

    Kept in the database so that a restart between two parts' callbacks loses nothing; goes with its journal row.
    """

    __tablename__ = "sms_parts"

    journal_id: Mapped[int] = mapped_column(BigId, ForeignKey("journal.id", ondelete="CASCADE"), primary_key=True,
                                            autoincrement=False)
    part: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    status: Mapped[str] = mapped_column(String(16))  # Twilio's MessageStatus: delivered, failed, undelivered
    error_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# -- IRC transport --------------------------------------------------------------------------------------------
class IrcNetworkRow(Base):
    """A network users may connect to. Rows from the config file are upserted at start (origin "config")."""

    __tablename__ = "irc_networks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    host: Mapped[str] = mapped_column(String(255))
    port: Mapped[int | None] = mapped_column(Integer, nullable=True)
    tls: Mapped[bool] = mapped_column(Boolean, default=True)
    verify_certificate: Mapped[bool] = mapped_column(Boolean, default=True)
    ca_file: Mapped[str | None] = mapped_column(String(1024), nullable=True)
    password: Mapped[str | None] = mapped_column(Text, nullable=True)  # a SecretBox token, never plain text
    encoding_fallback: Mapped[str] = mapped_column(String(64), default="latin-1")
    max_line_bytes: Mapped[int] = mapped_column(Integer, default=512)
    origin: Mapped[str] = mapped_column(String(16), default="admin")  # config | admin
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class IrcAccount(Base):
    """A user's own settings on one network (a configured one or a server they named) through one IRC transport
    instance: nick and credentials."""

    __tablename__ = "irc_accounts"
    __table_args__ = (UniqueConstraint("user_id", "transport", "network"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    transport: Mapped[str] = mapped_column(String(64))  # the instance's name
    network: Mapped[str] = mapped_column(String(64))
    nick: Mapped[str | None] = mapped_column(String(64), nullable=True)
    sasl_account: Mapped[str | None] = mapped_column(String(255), nullable=True)
    sasl_password: Mapped[str | None] = mapped_column(Text, nullable=True)  # SecretBox token
    nickserv_password: Mapped[str | None] = mapped_column(Text, nullable=True)  # SecretBox token
    # Stay connected with no resource online (None: the admin's default for the network).
    always_on: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class IrcKeptChannel(Base):
    """A channel an always-on user stays in while no resource of theirs is in its room, so that a restart joins
    it again (rooms with a resource in them are restored from room_members)."""

    __tablename__ = "irc_kept_channels"
    __table_args__ = (UniqueConstraint("user_id", "transport", "network", "channel"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    transport: Mapped[str] = mapped_column(String(64))
    network: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(255))
    nick: Mapped[str] = mapped_column(String(64))
    kept_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
