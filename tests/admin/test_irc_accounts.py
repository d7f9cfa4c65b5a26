"""Which network a name means (the database through a short cache, or a server the user names, never an internal
one) and who the user is there (their stored nick and credentials)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr

from gateway.core.events import Refusal
from gateway.store.irc import ADMIN, CONFIG, NetworkRecord
from gateway.store.store import Store
from gateway.transports.irc.accounts import IrcAccounts, upsert_configured
from gateway.transports.irc.connection import IrcIdentity
from gateway.transports.irc.settings import IrcNetwork, IrcSettings

KEY = Fernet.generate_key().decode()


def settings(**values: object) -> IrcSettings:
    return IrcSettings.model_validate({"jid": "irc.example.org", "secret": "s", **values})


@pytest.fixture
async def store(sqlite_url: str) -> AsyncIterator[Store]:
    store = await Store.open(sqlite_url, migrate=True, secret_key=KEY)
    yield store
    await store.close()


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def resolver(answers: dict[str, list[str]]):  # type: ignore[no-untyped-def]
    async def resolve(host: str, port: int) -> list[str]:
        if host not in answers:
            raise OSError(-2, "Name or service not known")
        return answers[host]
    return resolve


async def test_arbitrary_server_at_127_0_0_1_is_refused_with_a_clear_error(store: Store) -> None:
    accounts = IrcAccounts(settings(allow_arbitrary_servers=True), store.irc)
    with pytest.raises(Refusal) as refused:
        await accounts.network("127.0.0.1")
    assert refused.value.condition == "not-allowed"
    assert "127.0.0.1" in refused.value.text and "internal address" in refused.value.text


async def test_a_host_name_is_judged_by_every_address_it_resolves_to(store: Store) -> None:
    answers = {"irc.example.net": ["93.184.216.34"], "sneaky.example.net": ["93.184.216.35", "10.1.2.3"],
               "linklocal.example.net": ["fe80::1"]}
    accounts = IrcAccounts(settings(allow_arbitrary_servers=True), store.irc, resolver=resolver(answers))
    network = await accounts.network("irc.example.net")
    assert (network.host, network.tls, network.verify_certificate, network.effective_port) == (
        "irc.example.net", True, True, 6697)
    for name, address in (("sneaky.example.net", "10.1.2.3"), ("linklocal.example.net", "fe80::1")):
        with pytest.raises(Refusal, match="internal address") as refused:
            await accounts.network(name)
        assert address in refused.value.text
    with pytest.raises(Refusal, match="cannot be found"):
        await accounts.network("nowhere.example.net")


async def test_localhost_is_refused_through_the_real_resolver(store: Store) -> None:
    accounts = IrcAccounts(settings(allow_arbitrary_servers=True), store.irc)
    with pytest.raises(Refusal, match="internal address"):
        await accounts.network("localhost")


async def test_private_addresses_only_when_explicitly_allowed(store: Store) -> None:
    accounts = IrcAccounts(settings(allow_arbitrary_servers=True, allow_private_addresses=True), store.irc)
    network = await accounts.network("127.0.0.1")
    assert network.host == "127.0.0.1"


async def test_without_arbitrary_servers_only_stored_networks(store: Store) -> None:
    await store.irc.add_network(NetworkRecord("libera", "irc.libera.chat"))
    accounts = IrcAccounts(settings(), store.irc, resolver=resolver({"irc.example.net": ["93.184.216.34"]}))
    assert (await accounts.network("libera")).host == "irc.libera.chat"
    with pytest.raises(Refusal, match=r"does not connect to other servers\. Networks here: libera") as refused:
        await accounts.network("irc.example.net")
    assert refused.value.condition == "item-not-found"


async def test_a_stored_network_wins_over_a_server_of_that_name(store: Store) -> None:
    await store.irc.add_network(NetworkRecord("127.0.0.1", "127.0.0.1", 6667, tls=False))
    accounts = IrcAccounts(settings(allow_arbitrary_servers=True), store.irc)
    network = await accounts.network("127.0.0.1")  # an admin's choice: not judged as a user-named server
    assert (network.effective_port, network.tls) == (6667, False)


async def test_changes_in_the_database_show_once_the_cache_expires(store: Store) -> None:
    clock = Clock()
    accounts = IrcAccounts(settings(), store.irc, clock=clock)
    with pytest.raises(Refusal):
        await accounts.network("libera")
    await store.irc.add_network(NetworkRecord("libera", "irc.libera.chat", password="pw-123456"))
    with pytest.raises(Refusal):
        await accounts.network("libera")  # still cached
    clock.now += IrcAccounts.CACHE_SECONDS
    network = await accounts.network("libera")
    assert network.password is not None and network.password.get_secret_value() == "pw-123456"
    await store.irc.remove_network("libera")
    clock.now += IrcAccounts.CACHE_SECONDS
    with pytest.raises(Refusal):
        await accounts.network("libera")
    assert IrcAccounts.CACHE_SECONDS < 2.0  # DESIGN.md: a CLI change reaches the gateway within 2 s


async def test_lookups_of_names_that_are_no_network_are_forgotten_once_expired(store: Store) -> None:
    clock = Clock()
    accounts = IrcAccounts(settings(), store.irc, clock=clock)
    for n in range(200):  # any name a user types
        with pytest.raises(Refusal):
            await accounts.network(f"nowhere{n}")
    assert accounts.cached == 200
    clock.now += IrcAccounts.CACHE_SECONDS
    with pytest.raises(Refusal):
        await accounts.network("one-more")
    assert accounts.cached == 1


async def test_identity_from_the_users_stored_settings(store: Store) -> None:
    await store.users.add("a@example.org")
    accounts = IrcAccounts(settings(), store.irc)
    libera = IrcNetwork(name="libera", host="irc.libera.chat")
    assert await accounts.identity("a@example.org", libera, "fallback") == IrcIdentity("fallback")
    await store.irc.set_account("a@example.org", "libera", nick="alice", sasl_account="alice-acct",
                                sasl_password="sasl-secret", nickserv_password="ns-secret", transport="irc")
    identity = await accounts.identity("a@example.org", libera, "fallback")
    assert (identity.nick, identity.sasl_account, identity.sasl_password, identity.nickserv_password) == (
        "alice", "alice-acct", "sasl-secret", "ns-secret")
    await store.irc.set_account("a@example.org", "libera", nick=None, sasl_account=None, transport="irc")
    identity = await accounts.identity("a@example.org", libera, "fallback")
    assert (identity.nick, identity.sasl_account) == ("fallback", "fallback")  # the account is the nick


async def test_config_networks_are_upserted_and_the_config_wins(store: Store) -> None:
    await store.irc.add_network(NetworkRecord("libera", "old.example.org", origin=ADMIN))
    configured = settings(networks=[{"name": "libera", "host": "irc.libera.chat", "password": "srv-pw-1234"},
                                    {"name": "oftc", "host": "irc.oftc.net", "tls": False}])
    await upsert_configured(configured, store.irc)
    await upsert_configured(configured, store.irc)  # every start: no duplicates
    stored = {n.name: n for n in await store.irc.networks()}
    assert set(stored) == {"libera", "oftc"}
    assert (stored["libera"].host, stored["libera"].origin, stored["libera"].has_password) == (
        "irc.libera.chat", CONFIG, True)
    assert not stored["oftc"].tls


async def test_without_a_key_a_config_password_is_read_from_the_config(sqlite_url: str) -> None:
    store = await Store.open(sqlite_url, migrate=True)
    try:
        configured = settings(networks=[{"name": "libera", "host": "irc.libera.chat", "password": "srv-pw-1234"}])
        await upsert_configured(configured, store.irc)
        assert not (await store.irc.networks())[0].has_password  # nothing in plain text
        network = await IrcAccounts(configured, store.irc).network("libera")
        assert network.password == SecretStr("srv-pw-1234")
    finally:
        await store.close()


async def test_a_network_whose_lookup_expires_while_it_is_read_is_read_again(store: Store) -> None:
    """The clock passes the entry's expiry between two readings of one lookup: a miss, never a KeyError."""
    await store.irc.add_network(NetworkRecord("libera", "irc.libera.chat"))
    readings = iter([0.0, IrcAccounts.CACHE_SECONDS - 0.01, IrcAccounts.CACHE_SECONDS + 0.01])
    last = [0.0]

    def clock() -> float:
        last[0] = next(readings, last[0])
        return last[0]

    accounts = IrcAccounts(settings(), store.irc, clock=clock)
    accounts._cache["libera"] = await store.irc.get_network("libera", reveal=True)  # stored at 0.0

    network = await accounts.network("libera")  # before: KeyError

    assert network.host == "irc.libera.chat"
