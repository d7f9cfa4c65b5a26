"""IrcConnection against a real ngircd (plain IRC: no IRCv3 beyond multi-prefix, no SASL), and against a small
fake server where a test must control the server (no PONG, a dropped link) or see exactly the lines it received."""

from __future__ import annotations

import asyncio
import itertools
import time
from pathlib import Path

import pytest

from gateway.devstack.certs import make_test_certificate
from gateway.devstack.ngircd import IrcLine, NgircdServer, RawIrcClient
from gateway.transports.base import AddressError
from gateway.transports.irc.addressing import Casemapping
from gateway.transports.irc.channel import ChannelDirectory
from gateway.transports.irc.connection import ConnectError, IrcConnection, JoinError, NickError
from gateway.transports.irc.flood import QueueFull
from gateway.transports.irc.lines import UnsafeParameter
from tests.transports.irc.conftest import FakeIrcServer, Recorder, make_connection, tls_context_for


async def connect(
    port: int, nick: str, connections: list[IrcConnection], **kwargs: object
) -> tuple[IrcConnection, Recorder]:
    conn, rec = make_connection(port, nick, **kwargs)  # type: ignore[arg-type]
    connections.append(conn)
    await conn.connect()
    return conn, rec


async def raw(port: int, nick: str, raw_clients: list[RawIrcClient], *channels: str) -> RawIrcClient:
    client = await RawIrcClient.connect(port)
    raw_clients.append(client)
    await client.register(nick)
    for channel in channels:
        await client.join(channel)
    return client


def privmsgs(client: RawIrcClient, target: str) -> list[str]:
    return [line.params[1] for line in client.received if line.command == "PRIVMSG" and line.params[0] == target]


# -- connecting ---------------------------------------------------------------------------------------------------


async def test_username_and_realname_are_ours(
    ngircd: NgircdServer, connections: list[IrcConnection], raw_clients: list[RawIrcClient]
) -> None:
    conn, _ = make_connection(ngircd.port, "idtest", username="gwname", realname="Someone via XMPP")
    connections.append(conn)
    await conn.connect()
    client = await raw(ngircd.port, "whoiser", raw_clients)
    await client.send("WHOIS idtest")
    reply = await client.expect_command("311")  # nick user host * :realname
    assert reply.params[2].lstrip("~") == "gwname" and reply.params[-1] == "Someone via XMPP"
    # The prefix the server shows was learned from the welcome, for splitting long lines.
    assert conn.user is not None and conn.user.lstrip("~") == "gwname" and conn.host == "127.0.0.1"


async def test_an_idle_connection_keeps_one_task_and_no_registration_state(
    ngircd: NgircdServer, connections: list[IrcConnection]
) -> None:
    conn, _ = await connect(ngircd.port, "idler", connections)
    await conn.join("#idle")
    await conn.flush()
    own = [task for task in asyncio.all_tasks() if task.get_name().startswith("irc-")]
    assert [task.get_name() for task in own] == ["irc-read"]  # liveness is a timer, the send queue only runs busy
    assert conn._link._liveness_timer is not None
    assert conn._registration.offered == {} and conn._membership._join_keys == {} and len(conn._replies) == 0
    assert not hasattr(conn, "__dict__")


async def test_registration_starts_with_cap_ls_302(
    fake_server: FakeIrcServer, connections: list[IrcConnection]
) -> None:
    conn, _ = make_connection(fake_server.port, "capper", username="u1", realname="R N")
    connections.append(conn)
    await conn.connect()
    first = [(line.command, line.params) for line in fake_server.last.lines[:3]]
    assert first == [("CAP", ("LS", "302")), ("NICK", ("capper",)), ("USER", ("u1", "0", "*", "R N"))]


async def test_tls_verified_and_a_bad_certificate_refused(
    ngircd: NgircdServer, connections: list[IrcConnection], tmp_path: Path
) -> None:
    assert ngircd.tls_port is not None and ngircd.ca_path is not None
    good, _ = make_connection(ngircd.tls_port, "tlsok", tls=True, tls_context=tls_context_for(ngircd.ca_path))
    connections.append(good)
    await good.connect()
    assert good.connected
    other_ca, _, _ = make_test_certificate(tmp_path / "other", "irc.localhost")
    for context in (tls_context_for(other_ca), None):  # another CA, and the system's default trust store
        bad, rec = make_connection(ngircd.tls_port, "tlsbad", tls=True, tls_context=context)
        with pytest.raises(ConnectError) as info:
            await bad.connect()
        assert "certificate" in info.value.text and "refused" in info.value.text
        assert not bad.connected and rec.events == []


async def test_server_password(tmp_path: Path, connections: list[IrcConnection]) -> None:
    with NgircdServer(tmp_path / "pw", password="letmein") as server:
        good, _ = make_connection(server.port, "pwok", network_options={"password": "letmein"})
        connections.append(good)
        await good.connect()
        assert good.connected
        bad, _ = make_connection(server.port, "pwbad", network_options={"password": "wrong"})
        with pytest.raises(ConnectError):
            await bad.connect()
        none, _ = make_connection(server.port, "pwnone")
        with pytest.raises(ConnectError):
            await none.connect()


# -- nicks --------------------------------------------------------------------------------------------------------


async def test_nick_in_use_takes_alternates_and_tells(
    ngircd: NgircdServer, connections: list[IrcConnection], raw_clients: list[RawIrcClient]
) -> None:
    await raw(ngircd.port, "dup", raw_clients)
    first, _ = await connect(ngircd.port, "dup", connections)
    second, rec2 = await connect(ngircd.port, "dup", connections)
    assert (first.nick, second.nick) == ("dup_", "dup__")
    told = rec2.of("on_own_nick")
    assert [(e.old, e.new, e.reason) for e in told] == [("dup", "dup__", "in-use")]
    with pytest.raises(NickError):
        await second.set_nick("dup")  # still taken by the raw client
    assert second.nick == "dup__"
    assert await first.set_nick("dupnew") is True
    assert first.nick == "dupnew"


async def test_nick_sent_only_when_it_changes(fake_server: FakeIrcServer, connections: list[IrcConnection]) -> None:
    conn, rec = await connect(fake_server.port, "steady", connections)
    assert await conn.set_nick("steady") is False
    assert await conn.set_nick("steady") is False
    assert len(fake_server.received("NICK")) == 1  # the registration's only
    assert await conn.set_nick("moving") is True
    assert [line.params for line in fake_server.received("NICK")] == [("steady",), ("moving",)]
    assert [(e.old, e.new, e.reason) for e in rec.of("on_own_nick")] == [("steady", "moving", "changed")]


async def test_away_sent_only_when_it_changes(fake_server: FakeIrcServer, connections: list[IrcConnection]) -> None:
    conn, _ = await connect(fake_server.port, "awayer", connections)
    assert await conn.set_away("lunch") is True
    assert await conn.set_away("lunch") is False
    assert await conn.set_away(None) is True
    assert await conn.set_away(None) is False
    await conn.privmsg("#x", "marker")
    await conn.flush()
    await asyncio.sleep(0.1)
    assert [line.params for line in fake_server.received("AWAY")] == [("lunch",), ()]


# -- channels -----------------------------------------------------------------------------------------------------


async def test_channel_life(
    ngircd: NgircdServer, connections: list[IrcConnection], raw_clients: list[RawIrcClient]
) -> None:
    op = await raw(ngircd.port, "chanop", raw_clients, "#life")
    await op.send("MODE #life +v chanop")
    await op.send("TOPIC #life :the first topic")
    await op.expect_command("TOPIC")
    conn, rec = await connect(ngircd.port, "member", connections)
    channel = await conn.join("#life")
    # multi-prefix (ngircd offers it): both of chanop's modes, not only the highest.
    assert channel.member("chanop") is not None and channel.member("chanop").modes == {"o", "v"}  # type: ignore[union-attr]
    assert channel.member("member") is not None and channel.topic == "the first topic"
    assert (await rec.wait("on_topic")).topic == "the first topic"
    names = await rec.wait("on_names")
    assert {m.nick for m in names.members} == {"chanop", "member"}

    await op.send("MODE #life +o-v member chanop")
    mode = await rec.wait("on_mode")
    assert [(c.nick, c.mode, c.added) for c in mode.changes] == [("member", "o", True), ("chanop", "v", False)]
    assert channel.member("member").modes == {"o"} and channel.member("chanop").modes == {"o"}  # type: ignore[union-attr]

    await op.send("TOPIC #life :a new topic")
    topic = await rec.wait("on_topic", lambda e: e.changed)
    assert (topic.topic, topic.by, channel.topic) == ("a new topic", "chanop", "a new topic")

    visitor = await raw(ngircd.port, "visitor", raw_clients, "#life")
    joined = await rec.wait("on_join", lambda e: e.nick == "visitor")
    assert not joined.own and "visitor" in channel
    await visitor.send("NICK visitor2")
    nick = await rec.wait("on_nick")
    assert (nick.old, nick.new, nick.channels) == ("visitor", "visitor2", ("#life",))
    assert "visitor2" in channel and "visitor" not in channel
    await visitor.send("PART #life :going")
    part = await rec.wait("on_part", lambda e: e.nick == "visitor2")
    assert part.reason == "going" and "visitor2" not in channel

    quitter = await raw(ngircd.port, "quitter", raw_clients, "#life")
    await rec.wait("on_join", lambda e: e.nick == "quitter")
    await quitter.send("QUIT :gone fishing")
    quit_event = await rec.wait("on_quit")
    assert (quit_event.nick, quit_event.channels) == ("quitter", ("#life",)) and "fishing" in quit_event.reason

    await op.send("KICK #life member :out you go")
    kick = await rec.wait("on_kick")
    assert (kick.nick, kick.by, kick.reason, kick.own) == ("member", "chanop", "out you go", True)
    assert not conn.is_joined("#life") and "#life" not in conn.wanted_channels


async def test_join_refusals_carry_the_kind_and_the_servers_text(
    ngircd: NgircdServer, connections: list[IrcConnection], raw_clients: list[RawIrcClient]
) -> None:
    op = await raw(ngircd.port, "gatekeeper", raw_clients, "#keyed", "#invite", "#banned", "#full")
    for line in ("MODE #keyed +k sesame", "MODE #invite +i", "MODE #banned +b *!*@*", "MODE #full +l 1"):
        await op.send(line)
    await op.send("PING :sync")
    await op.expect_command("PONG")
    conn, _ = await connect(ngircd.port, "knocker", connections)
    for channel, kind in (("#keyed", "bad-key"), ("#invite", "invite-only"), ("#banned", "banned"), ("#full", "full")):
        with pytest.raises(JoinError) as info:
            await conn.join(channel)
        assert info.value.kind == kind and channel in info.value.text and len(info.value.text) > len(channel) + 2
        assert not conn.is_joined(channel)
    await conn.join("#keyed", "sesame")
    assert conn.wanted_channels == {"#keyed": "sesame"}


async def test_messages_in_and_out(
    ngircd: NgircdServer, connections: list[IrcConnection], raw_clients: list[RawIrcClient]
) -> None:
    conn, rec = await connect(ngircd.port, "talker", connections, network_options={"encoding_fallback": "cp1252"})
    peer = await raw(ngircd.port, "peer", raw_clients, "#chat")
    await conn.join("#chat")
    await peer.send("PRIVMSG #chat :plain words")
    await peer.send("PRIVMSG #chat :\x01ACTION waves\x01")
    await peer.send("NOTICE #chat :a notice")
    await peer.send("PRIVMSG talker :just for you")
    await peer.send_raw(b"PRIVMSG #chat :\x93cp1252 quotes\x94 caf\xe9\r\n")  # not UTF-8
    await peer.send("PRIVMSG #chat :\x01VERSION\x01")  # a CTCP request: not a message for the user
    await peer.send("PRIVMSG #chat :last")
    await rec.wait("on_message", lambda e: e.text == "last")
    got = [(e.source, e.target, e.text, e.action, e.notice, e.private) for e in rec.of("on_message")]
    assert got == [
        ("peer", "#chat", "plain words", False, False, False),
        ("peer", "#chat", "waves", True, False, False),
        ("peer", "#chat", "a notice", False, True, False),
        ("peer", "talker", "just for you", False, False, True),
        ("peer", "#chat", "\u201ccp1252 quotes\u201d caf\u00e9", False, False, False),
        ("peer", "#chat", "last", False, False, False),
    ]
    assert all(e.time is None for e in rec.of("on_message"))

    rec.events.clear()
    await conn.privmsg("#chat", "/me dances")
    await conn.action("#chat", "bows")
    await conn.notice("peer", "psst")
    await conn.privmsg("peer", "hello you")
    line = await peer.expect(lambda line: line.command == "PRIVMSG" and line.params[1] == "hello you")
    assert line.nick == "talker"
    sent = [(line.command, line.params) for line in peer.received if line.nick == "talker"]
    assert sent[-4:] == [
        ("PRIVMSG", ("#chat", "\x01ACTION dances\x01")),
        ("PRIVMSG", ("#chat", "\x01ACTION bows\x01")),
        ("NOTICE", ("peer", "psst")),
        ("PRIVMSG", ("peer", "hello you")),
    ]
    # Without echo-message our own messages are reported once each, when written.
    await rec.wait("on_message", lambda e: e.text == "hello you")
    await asyncio.sleep(0.1)
    own = [(e.target, e.text, e.action, e.notice, e.own) for e in rec.of("on_message")]
    assert own == [
        ("#chat", "dances", True, False, True),
        ("#chat", "bows", True, False, True),
        ("peer", "psst", False, True, True),
        ("peer", "hello you", False, False, True),
    ]


async def test_names_compared_with_the_servers_casemapping(
    ngircd: NgircdServer, connections: list[IrcConnection]
) -> None:
    conn, _ = await connect(ngircd.port, "Folder", connections)
    assert conn.server.casemapping is Casemapping.ASCII  # ngircd says CASEMAPPING=ascii
    await conn.join("#MiXeD")
    assert conn.is_joined("#mixed") and conn.channel("#MIXED") is not None
    assert conn.channel("#mixed").member("FOLDER") is not None  # type: ignore[union-attr]
    assert not conn.same("[x]", "{x}")  # rfc1459 would fold these together; ascii does not
    await conn.join("#mixed")  # already in: no second JOIN, same state
    assert len(conn.channels) == 1


async def test_a_second_user_joining_before_the_first_has_the_member_list_still_learns_every_member(
    fake_server: FakeIrcServer, connections: list[IrcConnection]
) -> None:
    # Two users of one network join one channel at once (as after a restart): the first connection in keeps the
    # shared member list, but its NAMES come after the second one's join finished with the list as it was.
    directory: ChannelDirectory[IrcConnection] = ChannelDirectory()
    first, _ = make_connection(fake_server.port, "anna", directory=directory)
    second, seen = make_connection(fake_server.port, "bert", directory=directory)
    for conn in (first, second):
        connections.append(conn)
        await conn.connect()
    fake_server.names = "@anna bert bob carol"
    fake_server.hold_names["anna"] = released = asyncio.Event()
    first_join = asyncio.create_task(first.join("#both"))
    while not first.is_joined("#both"):
        await asyncio.sleep(0.01)

    await second.join("#both")
    released.set()
    await first_join

    await seen.wait("on_join", lambda e: e.nick == "carol")
    listed = {m.nick for m in seen.of("on_names")[-1].members} | {e.nick for e in seen.of("on_join") if not e.own}
    assert {"anna", "bob", "carol"} <= listed
    assert {m.nick for m in second.channel("#both").members.values()} == {"anna", "bert", "bob", "carol"}  # type: ignore[union-attr]


async def test_list_is_paged(
    ngircd: NgircdServer, connections: list[IrcConnection], raw_clients: list[RawIrcClient]
) -> None:
    await raw(ngircd.port, "lister", raw_clients, "#list-a", "#list-b", "#list-c", "#list-d", "#list-e")
    conn, _ = await connect(ngircd.port, "browser", connections)
    seen: list[str] = []
    after = None
    while True:
        page = await conn.list_channels(after=after, limit=2)
        assert len(page.items) <= 2
        if not page.items:
            break
        seen += [item.name for item in page.items]
        after = page.last
    assert [name for name in seen if name.startswith("#list-")] == [f"#list-{c}" for c in "abcde"]
    assert page.total == len(seen)


# -- what reaches the socket --------------------------------------------------------------------------------------


async def test_no_injection_through_body_channel_topic_nick_or_raw(
    ngircd: NgircdServer, connections: list[IrcConnection], raw_clients: list[RawIrcClient]
) -> None:
    watcher = await raw(ngircd.port, "watcher", raw_clients, "#safe")
    conn, rec = await connect(ngircd.port, "injector", connections)
    await conn.join("#safe")
    await conn.privmsg("#safe", "one\r\nJOIN #evil\r\ntwo\0 three\nQUIT :x")
    with pytest.raises(AddressError):
        await conn.privmsg("#safe\r\nJOIN #evil", "x")
    with pytest.raises(AddressError):
        await conn.join("#evil\r\nPRIVMSG #safe :injected")
    with pytest.raises(UnsafeParameter):
        await conn.join("#safe2", "key\r\nJOIN #evil")
    with pytest.raises(AddressError):
        await conn.set_nick("bad\r\nJOIN #evil")
    with pytest.raises(UnsafeParameter):
        await conn.send_raw("PRIVMSG #safe :a\r\nJOIN #evil")
    with pytest.raises(UnsafeParameter):
        await conn.send_raw("PRIVMSG #safe :a\0b")
    await conn.set_topic("#safe", "top\r\nJOIN #evil")
    await conn.send_raw("PRIVMSG #safe :raw but fine")
    await conn.privmsg("#safe", "end")
    await watcher.expect(lambda line: line.command == "PRIVMSG" and line.params[1] == "end")
    from_us = [(line.command, line.params) for line in watcher.received if line.nick == "injector"]
    assert from_us == [
        ("JOIN", ("#safe",)),
        ("PRIVMSG", ("#safe", "one")),
        ("PRIVMSG", ("#safe", "JOIN #evil")),
        ("PRIVMSG", ("#safe", "two three")),
        ("PRIVMSG", ("#safe", "QUIT :x")),
        ("TOPIC", ("#safe", "top JOIN #evil")),
        ("PRIVMSG", ("#safe", "raw but fine")),
        ("PRIVMSG", ("#safe", "end")),
    ]
    await watcher.send("NAMES #evil")
    names = await watcher.expect_command("366")
    assert not any(line.command == "353" and "#evil" in line.params for line in watcher.received)
    assert names and not conn.is_joined("#evil") and conn.nick == "injector"
    assert rec.of("on_disconnected") == []


async def test_long_lines_split_with_the_real_prefix(
    ngircd: NgircdServer, connections: list[IrcConnection], raw_clients: list[RawIrcClient]
) -> None:
    reader = await raw(ngircd.port, "reader", raw_clients, "#long")
    conn, _ = await connect(ngircd.port, "writer", connections)
    await conn.join("#long")
    body = "中文字符和表情" * 60 + "👍🏽👨‍👩‍👧" * 30 + " words and more words" * 20
    sent = await conn.privmsg("#long", body)
    assert len(sent) > 3
    await reader.expect(lambda line: line.command == "PRIVMSG" and line.params[1] == sent[-1].text)
    lines = [line for line in reader.received if line.command == "PRIVMSG" and line.nick == "writer"]
    sizes = [len(line.raw.encode()) + 2 for line in lines]  # as relayed, with the server's prefix and CRLF
    assert max(sizes) <= 512
    assert max(sizes) >= 500  # the real prefix was used, not the worst case (which leaves ~60 bytes unused)
    assert "".join(line.params[1] for line in lines).replace(" ", "") == body.replace(" ", "")
    assert all("\ufffd" not in line.params[1] for line in lines)  # no UTF-8 character was cut


async def test_a_burst_of_200_lines_arrives_in_order_at_the_rate(
    ngircd: NgircdServer, connections: list[IrcConnection], raw_clients: list[RawIrcClient]
) -> None:
    counter = await raw(ngircd.port, "counter", raw_clients, "#burst")
    conn, _ = await connect(ngircd.port, "burster", connections, flood_burst=10, flood_rate=100.0, queue_size=500)
    await conn.join("#burst")
    start = time.monotonic()
    await conn.privmsg("#burst", "\n".join(f"line {i}" for i in range(200)))
    await counter.expect(lambda line: line.command == "PRIVMSG" and line.params[1] == "line 199", timeout=10)
    elapsed = time.monotonic() - start
    assert privmsgs(counter, "#burst") == [f"line {i}" for i in range(200)]
    assert 1.5 <= elapsed < 4.0  # (200 - burst 10) / 100 per second = 1.9 s


async def test_a_full_queue_refuses_the_whole_message(
    ngircd: NgircdServer, connections: list[IrcConnection], raw_clients: list[RawIrcClient]
) -> None:
    counter = await raw(ngircd.port, "counter2", raw_clients, "#full-q")
    conn, _ = await connect(ngircd.port, "queued", connections, flood_burst=5, flood_rate=20.0, queue_size=8)
    await conn.join("#full-q")
    await conn.flush()
    with pytest.raises(QueueFull) as info:
        await conn.privmsg("#full-q", "\n".join(f"too many {i}" for i in range(9)))
    assert info.value.condition == "resource-constraint"
    await conn.privmsg("#full-q", "fits")
    await counter.expect(lambda line: line.command == "PRIVMSG" and line.params[1] == "fits")
    assert privmsgs(counter, "#full-q") == ["fits"]


# -- liveness, reconnecting, quitting -----------------------------------------------------------------------------


async def test_server_restart_reconnects_and_rejoins(
    tmp_path: Path, connections: list[IrcConnection], raw_clients: list[RawIrcClient]
) -> None:
    with NgircdServer(tmp_path / "restart") as server:
        conn, rec = await connect(server.port, "survivor", connections)
        await conn.join("#one")
        await conn.join("#two")
        await asyncio.to_thread(server.restart)
        down = await rec.wait("on_disconnected")
        assert down.reconnecting
        back = await rec.wait("on_reconnected", timeout=10)
        assert sorted(back.channels) == ["#one", "#two"] and back.lost == ()
        assert conn.connected and conn.is_joined("#one") and conn.is_joined("#two")
        client = await raw(server.port, "checker", raw_clients, "#one")
        names = [line for line in client.received if line.command == "353"]
        assert "@survivor" in names[-1].params[-1].split()  # back, and op of the channel it made again
        await conn.privmsg("#one", "still here")
        await client.expect(lambda line: line.command == "PRIVMSG" and line.params[1] == "still here")


async def test_dropped_link_rejoins_with_keys(fake_server: FakeIrcServer, connections: list[IrcConnection]) -> None:
    conn, rec = await connect(fake_server.port, "keyholder", connections)
    await conn.join("#locked", "sesame")
    await conn.join("#open")
    await conn.set_away("not here")
    first = fake_server.last
    first.writer.transport.abort()
    await rec.wait("on_reconnected")
    await conn.flush()
    await asyncio.sleep(0.05)
    second = fake_server.last
    assert second is not first
    assert sorted(line.params for line in fake_server.received("JOIN", second)) == [("#locked", "sesame"), ("#open",)]
    assert [line.params for line in fake_server.received("AWAY", second)] == [("not here",)]


async def test_ping_timeout_reconnects(fake_server: FakeIrcServer, connections: list[IrcConnection]) -> None:
    conn, rec = await connect(fake_server.port, "pinger", connections, ping_interval=0.2, ping_timeout=0.3)
    await asyncio.sleep(1.0)  # answered PINGs keep the connection
    assert len(fake_server.received("PING")) >= 2 and rec.of("on_disconnected") == []
    fake_server.answer_pings = False
    down = await rec.wait("on_disconnected", timeout=3)
    assert "PING" in down.reason and down.reconnecting
    fake_server.answer_pings = True
    await rec.wait("on_reconnected", timeout=3)
    assert len(fake_server.clients) == 2 and conn.connected


async def test_a_ping_token_no_pong_can_carry_is_answered_with_what_fits(
    fake_server: FakeIrcServer, connections: list[IrcConnection], caplog: pytest.LogCaptureFixture
) -> None:
    conn, rec = await connect(fake_server.port, "ponger", connections)
    client = fake_server.last
    await client.send("PING :" + "é" * 300)  # 600 bytes: our PONG would be longer than a line
    await client.send("PING :a\0b")
    client.writer.write(b"PING :bare\rcr\r\n")
    await client.send("PING :plain")
    for _ in range(100):
        if len(fake_server.received("PONG", client)) >= 4:
            break
        await asyncio.sleep(0.02)
    long, nul, cr, plain = (line.params[-1] for line in fake_server.received("PONG", client))
    assert long == "é" * ((512 - len("PONG :\r\n")) // 2)  # cut at a whole character
    assert (nul, cr, plain) == ("ab", "barecr", "plain")
    assert conn.connected and rec.of("on_disconnected") == []
    assert [r.getMessage() for r in caplog.records if r.exc_info] == []


async def test_a_linelen_too_small_for_any_command_is_ignored(connections: list[IrcConnection]) -> None:
    server = FakeIrcServer(isupport="CASEMAPPING=rfc1459 PREFIX=(ov)@+ CHANTYPES=# LINELEN=10")
    await server.start()
    try:
        conn, _ = await connect(server.port, "tiny", connections)
        assert conn.max_line_bytes == 512  # a JOIN could never be written in 10 bytes: every join hung
        channel = await conn.join("#room")
        assert channel.name == "#room"
    finally:
        await server.stop()


@pytest.mark.parametrize("error", [ConnectionResetError(), OSError()])
async def test_a_failed_connection_always_names_a_reason(monkeypatch: pytest.MonkeyPatch, error: OSError) -> None:
    # An error without any text (seen as "Cannot connect to HOST:PORT: ."); no server here fails that way on cue.
    async def failing(*args: object, **kwargs: object) -> None:
        raise error

    monkeypatch.setattr(asyncio.get_running_loop(), "create_connection", failing)
    conn, _ = make_connection(6667, "nobody")
    with pytest.raises(ConnectError) as raised:
        await conn.connect()
    assert raised.value.text == f"Cannot connect to 127.0.0.1:6667: {type(error).__name__}."


async def test_quit_sends_the_message_and_stays_down(
    ngircd: NgircdServer, connections: list[IrcConnection], raw_clients: list[RawIrcClient]
) -> None:
    watcher = await raw(ngircd.port, "quitwatch", raw_clients, "#bye")
    conn, rec = await connect(ngircd.port, "leaver", connections)
    await conn.join("#bye")
    await conn.quit("see you\r\nJOIN #evil")
    line: IrcLine = await watcher.expect(lambda line: line.command == "QUIT" and line.nick == "leaver")
    assert "see you JOIN #evil" in line.params[-1]
    down = await rec.wait("on_disconnected")
    assert not down.reconnecting
    await asyncio.sleep(0.3)
    assert not conn.connected and rec.of("on_reconnected") == []
    with pytest.raises(Exception, match="closed"):
        await conn.privmsg("#bye", "too late")


async def test_chghost_updates_members_and_our_prefix(
    fake_server: FakeIrcServer, connections: list[IrcConnection]
) -> None:
    conn, rec = await connect(fake_server.port, "hosted", connections)
    channel = await conn.join("#hosts")
    assert channel.member("bob") is not None and conn.host == "fake.host"
    await fake_server.last.send(":bob!u@old.host CHGHOST newu new.host")
    await fake_server.last.send(":hosted!u@fake.host CHGHOST cloak a-much-longer-cloaked.example.host")
    event = await rec.wait("on_chghost", lambda e: e.nick == "bob")
    assert (event.user, event.host) == ("newu", "new.host")
    assert (channel.member("bob").user, channel.member("bob").host) == ("newu", "new.host")  # type: ignore[union-attr]
    await rec.wait("on_chghost", lambda e: e.nick == "hosted")
    assert (conn.user, conn.host) == ("cloak", "a-much-longer-cloaked.example.host")


async def test_reconnect_backoff_doubles_up_to_the_cap(
    fake_server: FakeIrcServer, connections: list[IrcConnection]
) -> None:
    conn, rec = await connect(fake_server.port, "backoff", connections, reconnect_max_delay=1.0)
    port = fake_server.port
    await fake_server.stop()
    attempts: list[float] = []

    async def refuse(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        attempts.append(time.monotonic())
        writer.transport.abort()

    refuser = await asyncio.start_server(refuse, "127.0.0.1", port)
    try:
        await rec.wait("on_disconnected")
        deadline = time.monotonic() + 5
        while len(attempts) < 7 and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
    finally:
        refuser.close()
    gaps = [b - a for a, b in itertools.pairwise(attempts)]
    assert len(gaps) >= 6, attempts
    # 0.05 s doubling, each wait 80-100 % of its delay (core/backoff.py): 0.1, 0.2, 0.4, 0.8, then capped at 1 s.
    for gap, expected in zip(gaps, (0.1, 0.2, 0.4, 0.8, 1.0, 1.0), strict=False):
        assert expected * 0.7 <= gap <= expected + 0.05, gaps
    assert not conn.connected


async def test_own_messages_are_not_reported_to_events_that_do_not_want_them(
    ngircd: NgircdServer, connections: list[IrcConnection], raw_clients: list[RawIrcClient]
) -> None:
    conn, rec = await connect(ngircd.port, "quiet", connections)
    rec.own_messages = False
    peer = await raw(ngircd.port, "peer", raw_clients, "#chat")
    await conn.join("#chat")
    await conn.privmsg("#chat", "said once")
    await peer.expect(lambda line: line.command == "PRIVMSG" and line.params[1] == "said once")
    await peer.send("PRIVMSG #chat :answer")  # after our line was written: its report would be here by now
    await rec.wait("on_message", lambda e: e.text == "answer")
    assert [(e.source, e.text, e.own) for e in rec.of("on_message")] == [("peer", "answer", False)]
