"""Mapped contacts reach users' rosters on a real Prosody: XEP-0356 pushes with mod_privilege, presence
subscriptions (XEP-0172 nick) without it. Changes made by the admin CLI in another process show up too."""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from pathlib import Path
from typing import Any

from slixmpp import Presence
from sqlalchemy import event

from gateway.devstack.prosody import ProsodyServer
from tests.e2e.test_adhoc_support import (  # noqa: F401 (the fixtures)
    SMS,
    Gateways,
    People,
    gateways_fixture,
    people_fixture,
    privileged_server_fixture,
    server_fixture,
    sms_table,
)
from tests.support.stack import wait_until
from tests.support.xmpp_client import TestClient

MOM = f"+12025550123@{SMS}"
DAD = f"+12025550124@{SMS}"


async def cli(config: Path, *args: str) -> None:
    """`xmpp-gateway admin ...` in a process of its own, on the gateway's database."""
    process = await asyncio.create_subprocess_exec(sys.executable, "-m", "gateway", "admin", *args, "-c", str(config),
                                                   stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    output, _ = await process.communicate()
    assert process.returncode == 0, output.decode()


async def roster(client: TestClient) -> dict[str, dict[str, Any]]:
    """The user's roster as the server stores it, fetched afresh (without a version: the whole roster)."""
    iq = await client.make_iq_get(queryxmlns="jabber:iq:roster").send(timeout=5)
    return {str(jid): dict(item) for jid, item in iq["roster"]["items"].items()}


async def test_privileged_roster_push_follows_the_cli(privileged_server: ProsodyServer, gateways: Gateways,
                                                      people: People, tmp_path: Path) -> None:
    gateway = await gateways(privileged_server, sms=sms_table())
    store = gateway.store
    assert store is not None
    alice = await people(privileged_server, "alice")
    await store.users.add("alice@localhost")
    await store.contacts.add("alice@localhost", "sms", "+12025550124", "Dad")
    await wait_until(_has(alice, DAD), timeout=5)

    config = tmp_path / "config.toml"
    await cli(config, "contact", "add", "alice@localhost", "--sms", "+12025550123", "--name", "Mom",
              "--group", "Family")
    added = time.monotonic()
    await wait_until(_has(alice, MOM), timeout=5)
    assert time.monotonic() - added < 2.0, "a CLI change reaches the roster within 2 s"
    items = await roster(alice)
    assert items[MOM]["name"] == "Mom" and items[MOM]["groups"] == ["Family"]
    assert items[DAD]["name"] == "Dad"

    await cli(config, "contact", "remove", "alice@localhost", "--sms", "+12025550123")
    await wait_until(_lacks(alice, MOM), timeout=5)
    assert DAD in await roster(alice)


async def test_without_privilege_contacts_ask_for_a_subscription_with_their_name(
        server: ProsodyServer, gateways: Gateways, people: People) -> None:
    gateway = await gateways(server, sms=sms_table())
    store = gateway.store
    assert store is not None
    await store.users.add("alice@localhost")
    alice = await people(server, "alice")
    seen: list[tuple[str, str, str]] = []

    def record(presence: Presence) -> None:
        seen.append((presence["type"], str(presence["from"]), presence["nick"]["nick"]))

    alice.register_plugin("xep_0172")
    for kind in ("subscribe", "unsubscribe", "unsubscribed"):
        alice.add_event_handler(f"presence_{kind}", record)

    await store.contacts.add("alice@localhost", "sms", "+12025550123", "Mom", "Family")
    await wait_until(lambda: ("subscribe", MOM, "Mom") in seen, timeout=5)

    await store.contacts.remove("alice@localhost", "sms", "+12025550123")
    await wait_until(lambda: {("unsubscribe", MOM), ("unsubscribed", MOM)} <= {s[:2] for s in seen}, timeout=5)
    assert [s for s in seen if s[0] == "subscribe"] == [("subscribe", MOM, "Mom")], "asked once, not every poll"


async def test_a_restart_pushes_nothing_twice_and_still_removes(privileged_server: ProsodyServer, gateways: Gateways,
                                                                people: People) -> None:
    gateway = await gateways(privileged_server, sms=sms_table())
    assert gateway.store is not None
    alice = await people(privileged_server, "alice")
    pushes: list[str] = []
    alice.add_event_handler("roster_update", lambda iq: pushes.extend(str(j) for j in iq["roster"]["items"]))
    await gateway.store.users.add("alice@localhost")
    await gateway.store.contacts.add("alice@localhost", "sms", "+12025550123", "Mom")
    await wait_until(lambda: pushes == [MOM], timeout=5)

    await gateways.stop(gateway)
    gateway = await gateways(privileged_server, sms=sms_table())
    assert gateway.store is not None
    await wait_until(lambda: gateway.administrations["sms"].roster.passes >= 1, timeout=5)  # a full comparison
    assert pushes == [MOM], "the roster already had the item: no second push"

    await gateway.store.contacts.remove("alice@localhost", "sms", "+12025550123")
    await wait_until(_lacks(alice, MOM), timeout=5)


async def test_a_mapping_removed_while_the_gateway_was_down_is_unsubscribed_after_a_restart(
        server: ProsodyServer, gateways: Gateways, people: People, tmp_path: Path) -> None:
    gateway = await gateways(server, sms=sms_table())
    assert gateway.store is not None
    await gateway.store.users.add("alice@localhost", transports=["sms"])
    alice = await people(server, "alice")
    seen: list[tuple[str, str]] = []
    for kind in ("subscribe", "unsubscribe", "unsubscribed"):
        alice.add_event_handler(f"presence_{kind}", lambda p: seen.append((p["type"], str(p["from"]))))
    await gateway.store.contacts.add("alice@localhost", "sms", "+12025550123", "Mom")
    await gateway.store.contacts.add("alice@localhost", "sms", "+12025550124", "Dad")
    await wait_until(lambda: {("subscribe", MOM), ("subscribe", DAD)} <= set(seen), timeout=5)

    await gateways.stop(gateway)
    await cli(tmp_path / "config.toml", "contact", "remove", "alice@localhost", "--sms", "+12025550123")
    gateway = await gateways(server, sms=sms_table())

    await wait_until(lambda: {("unsubscribe", MOM), ("unsubscribed", MOM)} <= set(seen), timeout=5)
    # Dad, unchanged, would have been asked again in the same pass, before Mom's removal.
    assert sorted(s for s in seen if s[0] == "subscribe") == [("subscribe", MOM), ("subscribe", DAD)]

    # Idle from here: each poll is one query on the change rows, and reads no contact.
    assert gateway.store is not None
    sync = gateway.administrations["sms"].roster
    queries: list[str] = []
    listener = lambda *args: queries.append(args[2])  # noqa: E731 (before_cursor_execute's statement)
    event.listen(gateway.store.engine.sync_engine, "before_cursor_execute", listener)
    try:
        start = sync.passes
        await wait_until(lambda: sync.passes >= start + 3, timeout=10)
    finally:
        event.remove(gateway.store.engine.sync_engine, "before_cursor_execute", listener)
    roster_queries = [q for q in queries if "contacts" in q or "roster" in q]
    assert roster_queries and all("FROM roster_changes" in q and "contacts" not in q for q in roster_queries)
    assert len(roster_queries) <= sync.passes - start + 1


async def test_with_the_privilege_a_mapping_removed_while_down_is_removed_after_a_restart(
        privileged_server: ProsodyServer, gateways: Gateways, people: People, tmp_path: Path) -> None:
    gateway = await gateways(privileged_server, sms=sms_table())
    assert gateway.store is not None
    alice = await people(privileged_server, "alice")
    pushes: list[str] = []
    alice.add_event_handler("roster_update", lambda iq: pushes.extend(str(j) for j in iq["roster"]["items"]))
    await gateway.store.users.add("alice@localhost", transports=["sms"])
    await gateway.store.contacts.add("alice@localhost", "sms", "+12025550123", "Mom")
    await gateway.store.contacts.add("alice@localhost", "sms", "+12025550124", "Dad")
    await wait_until(_has(alice, MOM), timeout=5)
    await wait_until(_has(alice, DAD), timeout=5)

    await gateways.stop(gateway)
    await cli(tmp_path / "config.toml", "contact", "remove", "alice@localhost", "--sms", "+12025550123")
    gateway = await gateways(privileged_server, sms=sms_table())

    await wait_until(_lacks(alice, MOM), timeout=5)
    assert DAD in await roster(alice)
    assert pushes.count(DAD) == 1, "an unchanged item is not pushed again"


def _has(client: TestClient, jid: str) -> Any:
    async def check() -> bool:
        return jid in await roster(client)
    return check


def _lacks(client: TestClient, jid: str) -> Any:
    async def check() -> bool:
        return jid not in await roster(client)
    return check


async def test_an_sms_contact_answers_the_servers_probe_as_available(server: ProsodyServer, gateways: Gateways,
                                                                    people: People) -> None:
    gateway = await gateways(server, sms=sms_table())
    assert gateway.store is not None
    await gateway.store.users.add("alice@localhost", transports=["sms"])
    alice = await people(server, "alice")
    subscribed: list[str] = []
    alice.add_event_handler("presence_subscribed", lambda p: subscribed.append(str(p["from"])))
    alice.send_presence(pto=MOM, ptype="subscribe")
    await wait_until(lambda: MOM in subscribed, timeout=5)

    # A second session: the server probes the contacts alice is subscribed to, and the phone answers.
    second = TestClient("alice@localhost/second", "pw")
    available: list[str] = []
    second.add_event_handler("presence_available", lambda p: available.append(str(p["from"].bare)))
    await second.start(port=server.c2s_port)
    try:
        await wait_until(lambda: MOM in available, timeout=5)
    finally:
        await second.stop()


async def test_one_users_roster_failing_leaves_the_others_in_sync(privileged_server: ProsodyServer,
                                                                  gateways: Gateways, people: People) -> None:
    gateway = await gateways(privileged_server, sms=sms_table())
    store = gateway.store
    assert store is not None
    sync = gateway.administrations["sms"].roster
    alice, bob = await people(privileged_server, "alice"), await people(privileged_server, "bob")
    read = sync.privilege.get_roster

    async def failing_for_alice(user: str, **kwargs: Any) -> Any:
        if user == "alice@localhost":
            raise RuntimeError("a roster that cannot be read")  # stands for any bug met on one user's items
        return await read(user, **kwargs)

    sync.privilege.get_roster = failing_for_alice
    for user in ("alice@localhost", "bob@localhost"):
        await store.users.add(user)
        await store.contacts.add(user, "sms", "+12025550124", "Dad")
    await wait_until(_has(bob, DAD), timeout=5)  # alice's failure came first (sorted) and stopped the pass before
    assert DAD not in await roster(alice)


async def _logged_modes(prosody: ProsodyServer, gateways: Gateways, caplog: Any) -> list[str]:
    caplog.set_level(logging.INFO, logger="gateway.xmpp.roster")
    gateway = await gateways(prosody, sms=sms_table())
    sync = gateway.administrations["sms"].roster
    await wait_until(lambda: sync.passes >= 2, timeout=5)
    return [r.getMessage() for r in caplog.records if "roster mode" in r.getMessage()]


async def test_the_roster_mode_is_logged_at_start_with_the_privilege(privileged_server: ProsodyServer,
                                                                     gateways: Gateways, caplog: Any) -> None:
    modes = await _logged_modes(privileged_server, gateways, caplog)
    assert modes == [f"{SMS}: roster mode: privileged pushes (XEP-0356 urn:xmpp:privilege:2 from localhost)"]


async def test_the_roster_mode_is_logged_at_start_without_the_privilege(server: ProsodyServer, gateways: Gateways,
                                                                        caplog: Any) -> None:
    modes = await _logged_modes(server, gateways, caplog)
    assert len(modes) == 1 and modes[0].startswith(f"{SMS}: roster mode: subscription requests ("), modes
