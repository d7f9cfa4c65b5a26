"""Getting onto a network: CAP negotiation, SASL PLAIN, NickServ, a free nick, and what the server says meanwhile.

On the wire: PASS when the network has a password, `CAP LS 302` (before NICK/USER, else a fast server completes
registration before it sees CAP and SASL is impossible), NICK, USER; then CAP REQ for the `WANTED_CAPS` the server
offers (sasl only with SASL credentials), AUTHENTICATE PLAIN in chunks, CAP END. The end of the MOTD completes the
registration, after NickServ IDENTIFY when the user has a NickServ password (so no channel is joined before the
login). A nick in use is replaced by the next alternate during registration; after it, a refusal answers the nick
change under way (`NICK_CHANGED`).
"""

from __future__ import annotations

import base64
import contextlib
import random
import re
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from gateway.core.events import Refusal
from gateway.transports.irc.errors import ConnectError, NickError, NotConnected, disconnected
from gateway.transports.irc.events import ErrorEvent
from gateway.transports.irc.lines import build_line
from gateway.transports.irc.replies import Reply
from gateway.transports.irc.wire import Line, words

if TYPE_CHECKING:
    from gateway.transports.irc.connection import IrcConnection

# The IRCv3 capabilities we use when a server offers them (sasl is asked for only with SASL credentials).
WANTED_CAPS = (
    "multi-prefix",
    "server-time",
    "message-tags",
    "echo-message",
    "away-notify",
    "account-notify",
    "chghost",
    "userhost-in-names",
)
_SASL_CHUNK = 400
_WELCOME_MASK = re.compile(r"(\S+)!(\S+)@(\S+)$")

REGISTERED: Reply[None] = Reply("registered", lambda _key, reason: ConnectError(reason))
NICK_CHANGED: Reply[str] = Reply("nick", lambda _key, reason: NickError(disconnected(reason)))
NICKSERV_ANSWERED: Reply[str] = Reply("nickserv", lambda _key, reason: NotConnected(disconnected(reason)))


@dataclass(frozen=True)
class IrcIdentity:
    """Who the user is on a network. username/realname default to the transport's settings (never the server's)."""

    nick: str
    username: str | None = None
    realname: str | None = None
    sasl_account: str | None = None
    sasl_password: str | None = None
    nickserv_password: str | None = None


class Registration:
    """The registration of one connection's links: reset by `begin`, kept small by `done` once registered."""

    __slots__ = ("_cap_done", "_conn", "_nick_candidates", "_offered", "_sasl_done")

    def __init__(self, conn: IrcConnection) -> None:
        self._conn = conn
        self._offered: dict[str, str] = {}  # capability -> value, as offered
        self._cap_done = False
        self._sasl_done = False
        self._nick_candidates: Iterator[str] = iter(())

    def begin(self) -> list[str]:
        """A new link: fresh state, and the lines that open the registration."""
        conn = self._conn
        self._offered = {}
        self._cap_done = False
        self._sasl_done = False
        self._nick_candidates = self._alternates(conn.wanted_nick)
        lines = []
        if conn.network.password is not None:
            lines.append(build_line("PASS", trailing=conn.network.password.get_secret_value()))
        return [
            *lines,
            "CAP LS 302",
            build_line("NICK", conn.nick),
            build_line("USER", conn.username, "0", "*", trailing=conn.realname),
        ]

    def done(self) -> None:
        """Registered: what only registration needs goes (the rest of a connection's life is long)."""
        self._offered = {}
        self._nick_candidates = iter(())

    @property
    def offered(self) -> dict[str, str]:
        return self._offered

    def failed(self, text: str) -> None:
        self._conn._replies.fail(REGISTERED, ConnectError(text))

    def _alternates(self, nick: str) -> Iterator[str]:
        limit = self._conn.server.nicklen or 30
        for suffix in ("_", "__", "___"):
            yield (nick + suffix)[:limit] if len(nick) < limit else nick[: limit - len(suffix)] + suffix
        for _ in range(5):
            digits = str(random.randint(1000, 9999))
            yield nick[: limit - 4] + digits

    # -- capabilities and SASL --------------------------------------------------------------------------------

    async def on_cap(self, line: Line) -> None:
        conn = self._conn
        sub = line.param(1).upper()
        if sub == "LS":
            more = len(line.params) > 3 and line.params[2] == "*"
            for item in words(line.param(-1)):
                name, _, value = item.partition("=")
                self._offered[name] = value
            if not more and not self._cap_done:
                wanted = [cap for cap in WANTED_CAPS if cap in self._offered]
                if self._wants_sasl() and "PLAIN" in self._offered.get("sasl", "PLAIN").upper().split(","):
                    wanted.append("sasl")
                if wanted:
                    await conn._queue.put(build_line("CAP", "REQ", trailing=" ".join(wanted)))
                else:
                    await self._cap_end()
        elif sub == "ACK":
            acked = {cap.removeprefix("-") for cap in words(line.param(-1)) if not cap.startswith("-")}
            conn.caps = conn.caps | acked
            if "sasl" in acked and not self._sasl_done:
                await conn._queue.put("AUTHENTICATE PLAIN")
            elif not self._cap_done:
                await self._cap_end()
        elif sub == "NAK":
            await self._cap_end()
        elif sub == "NEW":  # cap-notify (implied by CAP LS 302): ask for what we want among the new ones
            new = {}
            for item in words(line.param(-1)):
                name, _, value = item.partition("=")
                new[name] = value
            self._offered.update(new)
            wanted = [cap for cap in WANTED_CAPS if cap in new and cap not in conn.caps]
            if wanted:
                await conn._queue.put(build_line("CAP", "REQ", trailing=" ".join(wanted)))
        elif sub == "DEL":
            gone = set(words(line.param(-1)))
            conn.caps = conn.caps - gone
            for name in gone:
                self._offered.pop(name, None)

    def _wants_sasl(self) -> bool:
        identity = self._conn.identity
        return bool(identity.sasl_account and identity.sasl_password)

    async def _cap_end(self) -> None:
        if not self._cap_done and not self._conn.connected:
            self._cap_done = True
            await self._conn._queue.put("CAP END")

    async def on_authenticate(self, line: Line) -> None:
        if line.param(0) != "+" or not self._wants_sasl():
            return
        identity = self._conn.identity
        account, password = identity.sasl_account or "", identity.sasl_password or ""
        payload = base64.b64encode(f"{account}\0{account}\0{password}".encode()).decode()
        chunks = [payload[i : i + _SASL_CHUNK] for i in range(0, len(payload), _SASL_CHUNK)]
        if not chunks or len(chunks[-1]) == _SASL_CHUNK:
            chunks.append("+")
        await self._conn._queue.put_all([f"AUTHENTICATE {chunk}" for chunk in chunks])

    async def on_900(self, line: Line) -> None:  # RPL_LOGGEDIN
        self._conn.account = line.param(2) or None
        self._conn._replies.resolve(NICKSERV_ANSWERED, "900")

    async def on_901(self, line: Line) -> None:  # RPL_LOGGEDOUT
        self._conn.account = None

    async def on_sasl_done(self, line: Line) -> None:  # 903 success, 907 already authenticated
        self._sasl_done = True
        await self._cap_end()

    async def on_sasl_failed(self, line: Line) -> None:
        self._sasl_done = True
        text = f"SASL login as {self._conn.identity.sasl_account} failed: {line.param(-1)}"
        await self._conn._emit(self._conn.events.on_error(ErrorEvent(text, "SASL")))
        await self._cap_end()

    # -- welcome, ISUPPORT, MOTD, NickServ --------------------------------------------------------------------

    async def on_001(self, line: Line) -> None:
        conn = self._conn
        given = line.param(0)
        if given and given != conn.nick:
            await conn._own_nick(conn.nick, given, "server")
        match = _WELCOME_MASK.search(line.param(-1))
        if match and conn.same(match[1], conn.nick):
            conn.user, conn.host = match[2], match[3]
        conn.server.server_name = line.source
        self._cap_done = True  # registered: a late CAP reply must not send CAP END
        if conn.nick != conn.wanted_nick:
            await conn._own_nick(conn.wanted_nick, conn.nick, "in-use")

    async def on_end_of_motd(self, line: Line) -> None:  # 376, or 422 when there is none
        conn = self._conn
        if not conn._replies.waiting(REGISTERED):
            return
        if conn.identity.nickserv_password and conn.account is None:
            conn._tasks.spawn(self._identify())
        else:
            conn._replies.resolve(REGISTERED, None)

    async def _identify(self) -> None:
        """NickServ IDENTIFY before any join; waits for the login (900) or NickServ's answer, at most 5 s."""
        conn = self._conn
        password = conn.identity.nickserv_password or ""
        line = build_line("PRIVMSG", "NickServ", trailing=f"IDENTIFY {conn.wanted_nick} {password}")
        try:
            answer = ""
            with contextlib.suppress(TimeoutError):
                answer = await conn._replies.request(NICKSERV_ANSWERED, lambda: conn._queue.put(line), 5.0)
                if answer != "900":  # NickServ's notice may come before the server's 900
                    answered, _ = conn._replies.expect(NICKSERV_ANSWERED)
                    with contextlib.suppress(TimeoutError):
                        await conn._replies.wait(NICKSERV_ANSWERED, answered, 1.0)
            if conn.account is None:
                text = f"NickServ did not confirm the login: {answer}" if answer else "NickServ did not answer."
                await conn._emit(conn.events.on_error(ErrorEvent(text, "NICKSERV")))
        except (ConnectionError, OSError, Refusal):  # the link dropped: the registration failed with it
            return
        finally:
            conn._replies.resolve(REGISTERED, None)

    def nickserv_notice(self, text: str) -> None:
        """A private notice from NickServ: the answer `_identify` waits for, if it waits."""
        self._conn._replies.resolve(NICKSERV_ANSWERED, text)

    # -- refusals ---------------------------------------------------------------------------------------------

    async def on_nick_refused(self, line: Line) -> None:  # 431, 432, 433, 436, and 437 about a nick
        conn = self._conn
        refused = line.param(1)
        text = line.param(-1)
        if not conn.connected and conn._replies.waiting(REGISTERED):
            candidate = next(self._nick_candidates, None)
            if candidate is None:
                self.failed(f"No free nick on {conn.network.name}: {refused} is in use ({text}).")
                return
            conn.nick = candidate
            await conn._queue.put(build_line("NICK", candidate))
            return
        if not conn._replies.fail(NICK_CHANGED, NickError(f"{refused}: {text}")):
            await conn._emit(conn.events.on_error(ErrorEvent(f"{refused}: {text}", line.command, refused)))

    async def on_464(self, line: Line) -> None:  # ERR_PASSWDMISMATCH
        self.failed(f"{self._conn.network.name} refused the server password: {line.param(-1)}")

    async def on_465(self, line: Line) -> None:  # ERR_YOUREBANNEDCREEP
        self.failed(f"{self._conn.network.name} refused the connection: {line.param(-1)}")

    async def on_396(self, line: Line) -> None:  # RPL_VISIBLEHOST
        self._conn.host = line.param(1) or self._conn.host

    HANDLERS: ClassVar[dict[str, Callable[[Registration, Line], Awaitable[None]]]] = {
        "CAP": on_cap,
        "AUTHENTICATE": on_authenticate,
        "900": on_900,
        "901": on_901,
        **dict.fromkeys(("903", "907"), on_sasl_done),
        **dict.fromkeys(("902", "904", "905", "906", "908"), on_sasl_failed),
        "001": on_001,
        **dict.fromkeys(("376", "422"), on_end_of_motd),
        **dict.fromkeys(("431", "432", "433", "436"), on_nick_refused),
        "464": on_464,
        "465": on_465,
        "396": on_396,
    }
