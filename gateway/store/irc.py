"""The IRC transport's own state: the networks admins allow, and each user's settings per network and IRC
transport instance (two `type = "irc"` transports keep a user's nicks and credentials apart).

Passwords (a network's server password, a user's SASL and NickServ passwords) are kept as `SecretBox` tokens:
they are sealed here on the way in and opened here on the way out, so no other layer sees a token and the
database never holds one in plain text. Records returned for listings carry only whether a password is set.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import async_sessionmaker

from gateway.store.models import IrcAccount, IrcKeptChannel, IrcNetworkRow, User, utcnow
from gateway.store.secrets import SecretBox
from gateway.store.users import UserNotFound

CONFIG = "config"
ADMIN = "admin"


class NetworkExists(Exception):
    pass


class NetworkNotFound(Exception):
    pass


@dataclass(frozen=True)
class NetworkRecord:
    name: str
    host: str
    port: int | None = None
    tls: bool = True
    verify_certificate: bool = True
    ca_file: str | None = None
    encoding_fallback: str = "latin-1"
    max_line_bytes: int = 512
    origin: str = ADMIN
    has_password: bool = False
    password: str | None = field(default=None, repr=False)  # only filled by get_network(name, reveal=True)


@dataclass(frozen=True)
class KeptChannel:
    """A channel an always-on user stays in with no resource in its room."""

    user: str  # bare JID
    network: str
    channel: str
    nick: str


@dataclass(frozen=True)
class AccountRecord:
    """A user's settings on one network; the passwords only when asked for (`reveal`)."""

    network: str
    nick: str | None = None
    sasl_account: str | None = None
    has_sasl_password: bool = False
    has_nickserv_password: bool = False
    always_on: bool | None = None  # None: the admin's default
    sasl_password: str | None = field(default=None, repr=False)
    nickserv_password: str | None = field(default=None, repr=False)


# Passed for a setting that is to be left as it is (None clears it).
KEEP: Any = object()


class IrcRepository:
    def __init__(self, sessions: async_sessionmaker[Any], secrets: SecretBox) -> None:
        self._sessions = sessions
        self.secrets = secrets

    # -- networks -------------------------------------------------------------------------------------------
    def _network(self, row: IrcNetworkRow, reveal: bool) -> NetworkRecord:
        return NetworkRecord(
            name=row.name, host=row.host, port=row.port, tls=row.tls, verify_certificate=row.verify_certificate,
            ca_file=row.ca_file,
            encoding_fallback=row.encoding_fallback, max_line_bytes=row.max_line_bytes, origin=row.origin,
            has_password=row.password is not None,
            password=self.secrets.open(row.password) if reveal and row.password is not None else None)

    def _apply(self, row: IrcNetworkRow, record: NetworkRecord) -> None:
        row.host, row.port, row.tls = record.host, record.port, record.tls
        row.verify_certificate, row.ca_file = record.verify_certificate, record.ca_file
        row.encoding_fallback, row.max_line_bytes = record.encoding_fallback, record.max_line_bytes
        row.origin = record.origin
        row.password = self.secrets.seal(record.password) if record.password is not None else None
        row.updated_at = utcnow()

    async def add_network(self, record: NetworkRecord, replace: bool = False) -> NetworkRecord:
        """Store a network; NetworkExists if the name is taken (unless `replace`). The password is sealed first,
        so without a key a network with a password is refused (SecretsUnavailable) and nothing is stored."""
        try:
            async with self._sessions.begin() as session:
                row = await session.scalar(select(IrcNetworkRow).where(IrcNetworkRow.name == record.name))
                if row is not None and not replace:
                    raise NetworkExists(record.name)
                if row is None:
                    row = IrcNetworkRow(name=record.name)
                    session.add(row)
                self._apply(row, record)
                return self._network(row, reveal=False)
        except IntegrityError:  # added by another process meanwhile
            raise NetworkExists(record.name) from None

    async def upsert_network(self, record: NetworkRecord) -> NetworkRecord:
        return await self.add_network(record, replace=True)

    async def remove_network(self, name: str) -> NetworkRecord:
        async with self._sessions.begin() as session:
            row = await session.scalar(select(IrcNetworkRow).where(IrcNetworkRow.name == name))
            if row is None:
                raise NetworkNotFound(name)
            record = self._network(row, reveal=False)
            await session.delete(row)
            return record

    async def get_network(self, name: str, reveal: bool = False) -> NetworkRecord | None:
        async with self._sessions() as session:
            row = await session.scalar(select(IrcNetworkRow).where(IrcNetworkRow.name == name))
            return self._network(row, reveal) if row is not None else None

    async def networks(self) -> list[NetworkRecord]:
        async with self._sessions() as session:
            rows = (await session.scalars(select(IrcNetworkRow).order_by(IrcNetworkRow.name))).all()
            return [self._network(row, reveal=False) for row in rows]

    # -- per-user settings ----------------------------------------------------------------------------------
    def _account(self, row: IrcAccount, reveal: bool) -> AccountRecord:
        def opened(token: str | None) -> str | None:
            return self.secrets.open(token) if reveal and token is not None else None

        return AccountRecord(
            network=row.network, nick=row.nick, sasl_account=row.sasl_account,
            has_sasl_password=row.sasl_password is not None, has_nickserv_password=row.nickserv_password is not None,
            always_on=row.always_on,
            sasl_password=opened(row.sasl_password), nickserv_password=opened(row.nickserv_password))

    async def account(self, jid: str, network: str, reveal: bool = False, *, transport: str
                      ) -> AccountRecord | None:
        async with self._sessions() as session:
            row = await session.scalar(select(IrcAccount).join(User, User.id == IrcAccount.user_id).where(
                User.jid == jid, IrcAccount.transport == transport, IrcAccount.network == network))
            return self._account(row, reveal) if row is not None else None

    async def accounts(self, jid: str, *, transport: str) -> list[AccountRecord]:
        async with self._sessions() as session:
            rows = (await session.scalars(select(IrcAccount).join(User, User.id == IrcAccount.user_id)
                                          .where(User.jid == jid, IrcAccount.transport == transport)
                                          .order_by(IrcAccount.network))).all()
            return [self._account(row, reveal=False) for row in rows]

    async def set_account(self, jid: str, network: str, *, transport: str, nick: Any = KEEP,
                          sasl_account: Any = KEEP, sasl_password: Any = KEEP, nickserv_password: Any = KEEP,
                          always_on: Any = KEEP) -> AccountRecord:
        """Change some of a user's settings on a network through the IRC transport `transport` (KEEP leaves one
        as it is, None clears it).

        Passwords are sealed before anything is written: without a key, SecretsUnavailable and no change.
        """
        sealed = {name: (self.secrets.seal(value) if isinstance(value, str) else value)
                  for name, value in (("sasl_password", sasl_password), ("nickserv_password", nickserv_password))}
        for _attempt in range(2):
            try:
                async with self._sessions.begin() as session:
                    user_id = await session.scalar(select(User.id).where(User.jid == jid))
                    if user_id is None:
                        raise UserNotFound(jid)
                    row = await session.scalar(select(IrcAccount).where(
                        IrcAccount.user_id == user_id, IrcAccount.transport == transport,
                        IrcAccount.network == network))
                    if row is None:
                        row = IrcAccount(user_id=user_id, transport=transport, network=network)
                        session.add(row)
                    if nick is not KEEP:
                        row.nick = nick
                    if sasl_account is not KEEP:
                        row.sasl_account = sasl_account
                    if always_on is not KEEP:
                        row.always_on = always_on
                    for name, value in sealed.items():
                        if value is not KEEP:
                            setattr(row, name, value)
                    row.updated_at = utcnow()
                    return self._account(row, reveal=False)
            except IntegrityError:  # the row was created by a concurrent call: change that one
                continue
        raise RuntimeError("could not store the IRC settings")  # pragma: no cover - two races in a row

    async def forget_account(self, jid: str, network: str, *, transport: str) -> bool:
        async with self._sessions.begin() as session:
            user_id = await session.scalar(select(User.id).where(User.jid == jid))
            if user_id is None:
                return False
            result = await session.execute(delete(IrcAccount).where(
                IrcAccount.user_id == user_id, IrcAccount.transport == transport, IrcAccount.network == network))
            return bool(result.rowcount)

    # -- channels kept by always-on users -------------------------------------------------------------------
    async def keep_channel(self, jid: str, network: str, channel: str, nick: str, *, transport: str) -> None:
        """`jid` stays in `channel` with none of their resources in its room (a restart joins it again)."""
        async with self._sessions.begin() as session:
            user_id = await session.scalar(select(User.id).where(User.jid == jid))
            if user_id is None:
                return  # not a user any more: nothing of theirs is kept
            found = await session.scalar(select(IrcKeptChannel).where(
                IrcKeptChannel.user_id == user_id, IrcKeptChannel.transport == transport,
                IrcKeptChannel.network == network, IrcKeptChannel.channel == channel))
            if found is None:
                session.add(IrcKeptChannel(user_id=user_id, transport=transport, network=network, channel=channel,
                                           nick=nick))
            else:
                found.nick = nick

    async def unkeep_channels(self, jid: str, *, transport: str, network: str | None = None,
                              channel: str | None = None) -> None:
        """The user is back in the room, or out of the channel (all of theirs on `network`, or everywhere)."""
        conditions = [IrcKeptChannel.user_id == select(User.id).where(User.jid == jid).scalar_subquery(),
                      IrcKeptChannel.transport == transport]
        if network is not None:
            conditions.append(IrcKeptChannel.network == network)
        if channel is not None:
            conditions.append(IrcKeptChannel.channel == channel)
        async with self._sessions.begin() as session:
            await session.execute(delete(IrcKeptChannel).where(*conditions))

    async def kept_channels(self, *, transport: str) -> list[KeptChannel]:
        async with self._sessions() as session:
            rows = await session.execute(
                select(User.jid, IrcKeptChannel.network, IrcKeptChannel.channel, IrcKeptChannel.nick)
                .join(User, User.id == IrcKeptChannel.user_id).where(IrcKeptChannel.transport == transport)
                .order_by(IrcKeptChannel.id))
            return [KeptChannel(*row) for row in rows]
