"""IRC networks and per-user IRC settings in the database, with passwords sealed at rest."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import text

from gateway.store.irc import CONFIG, KEEP, NetworkExists, NetworkNotFound, NetworkRecord
from gateway.store.secrets import SecretBox, SecretsUnavailable
from gateway.store.store import Store
from gateway.store.users import UserNotFound

KEY = Fernet.generate_key().decode()
SERVER_PASSWORD = "server-pw-9f1c2e"
SASL_PASSWORD = "sasl-pw-77aa0b3d"
NICKSERV_PASSWORD = "nickserv-pw-31d0e6"


@pytest.fixture
async def keyed(database_url: str) -> Store:
    store = await Store.open(database_url, migrate=True, secret_key=KEY)
    yield store  # type: ignore[misc]
    await store.close()


async def test_networks_round_trip_with_the_password_sealed(keyed: Store) -> None:
    record = NetworkRecord("libera", "irc.libera.chat", 6697, encoding_fallback="cp1252", max_line_bytes=1024,
                           password=SERVER_PASSWORD)
    added = await keyed.irc.add_network(record)
    assert added.has_password and added.password is None
    await keyed.irc.add_network(NetworkRecord("oftc", "irc.oftc.net", tls=False))

    assert [n.name for n in await keyed.irc.networks()] == ["libera", "oftc"]
    listed = (await keyed.irc.networks())[0]
    assert (listed.host, listed.port, listed.encoding_fallback, listed.max_line_bytes) == (
        "irc.libera.chat", 6697, "cp1252", 1024)
    assert listed.password is None  # listings never carry a password
    assert (await keyed.irc.get_network("libera", reveal=True)).password == SERVER_PASSWORD  # type: ignore[union-attr]
    async with keyed.engine.connect() as connection:
        stored = (await connection.execute(text("SELECT password FROM irc_networks WHERE name = 'libera'"))).scalar()
    assert stored and SERVER_PASSWORD not in stored
    assert SERVER_PASSWORD not in repr(await keyed.irc.get_network("libera", reveal=True))


async def test_adding_a_taken_name_is_refused_unless_replacing(keyed: Store) -> None:
    await keyed.irc.add_network(NetworkRecord("libera", "irc.libera.chat"))
    with pytest.raises(NetworkExists):
        await keyed.irc.add_network(NetworkRecord("libera", "other.example.org"))
    await keyed.irc.upsert_network(NetworkRecord("libera", "other.example.org", origin=CONFIG))
    found = await keyed.irc.get_network("libera")
    assert found is not None and (found.host, found.origin) == ("other.example.org", CONFIG)


async def test_remove_network(keyed: Store) -> None:
    await keyed.irc.add_network(NetworkRecord("libera", "irc.libera.chat"))
    assert (await keyed.irc.remove_network("libera")).name == "libera"
    assert await keyed.irc.get_network("libera") is None
    with pytest.raises(NetworkNotFound):
        await keyed.irc.remove_network("libera")


async def test_without_a_key_a_password_is_refused_and_nothing_stored(database_url: str) -> None:
    store = await Store.open(database_url, migrate=True)
    try:
        await store.users.add("a@example.org")
        with pytest.raises(SecretsUnavailable, match="secret_key"):
            await store.irc.add_network(NetworkRecord("libera", "irc.libera.chat", password=SERVER_PASSWORD))
        assert await store.irc.get_network("libera") is None
        with pytest.raises(SecretsUnavailable):
            await store.irc.set_account("a@example.org", "libera", sasl_password=SASL_PASSWORD, transport="irc")
        assert await store.irc.account("a@example.org", "libera", transport="irc") is None
        # What holds no secret is stored without a key.
        await store.irc.add_network(NetworkRecord("oftc", "irc.oftc.net"))
        await store.irc.set_account("a@example.org", "oftc", nick="alice", transport="irc")
        assert (await store.irc.account("a@example.org", "oftc", transport="irc")).nick == "alice"  # type: ignore[union-attr]
    finally:
        await store.close()


async def test_a_token_sealed_with_another_key_says_so(keyed: Store) -> None:
    await keyed.users.add("a@example.org")
    await keyed.irc.set_account("a@example.org", "libera", sasl_password=SASL_PASSWORD, transport="irc")
    other = Store(keyed.engine, Fernet.generate_key().decode())
    with pytest.raises(SecretsUnavailable, match="key"):
        await other.irc.account("a@example.org", "libera", reveal=True, transport="irc")


async def test_account_settings_change_one_at_a_time_and_clear(keyed: Store) -> None:
    await keyed.users.add("a@example.org")
    await keyed.irc.set_account("a@example.org", "libera", nick="alice", transport="irc")
    await keyed.irc.set_account("a@example.org", "libera", sasl_account="alice", sasl_password=SASL_PASSWORD,
                                transport="irc")
    await keyed.irc.set_account("a@example.org", "libera", nickserv_password=NICKSERV_PASSWORD, transport="irc")
    found = await keyed.irc.account("a@example.org", "libera", reveal=True, transport="irc")
    assert found is not None
    assert (found.nick, found.sasl_account, found.sasl_password, found.nickserv_password) == (
        "alice", "alice", SASL_PASSWORD, NICKSERV_PASSWORD)
    listed = await keyed.irc.accounts("a@example.org", transport="irc")
    assert [(a.network, a.has_sasl_password, a.sasl_password) for a in listed] == [("libera", True, None)]

    await keyed.irc.set_account("a@example.org", "libera", sasl_account=None, sasl_password=None, nick=KEEP,
                                transport="irc")
    found = await keyed.irc.account("a@example.org", "libera", reveal=True, transport="irc")
    assert found is not None and (found.nick, found.sasl_account, found.sasl_password) == ("alice", None, None)
    assert await keyed.irc.forget_account("a@example.org", "libera", transport="irc")
    assert await keyed.irc.account("a@example.org", "libera", transport="irc") is None


async def test_settings_of_someone_not_a_user_are_refused(keyed: Store) -> None:
    with pytest.raises(UserNotFound):
        await keyed.irc.set_account("nobody@example.org", "libera", nick="x", transport="irc")


async def test_removing_the_user_removes_their_settings(keyed: Store) -> None:
    await keyed.users.add("a@example.org")
    await keyed.irc.set_account("a@example.org", "libera", nick="alice", transport="irc")
    await keyed.users.remove("a@example.org")
    await keyed.users.add("a@example.org")
    assert await keyed.irc.accounts("a@example.org", transport="irc") == []


async def test_secrets_are_absent_in_plain_text_from_the_sqlite_files(tmp_path: Path) -> None:
    """The database file and its WAL, read as bytes while the store is open and after it closed."""
    path = tmp_path / "secret.db"
    store = await Store.open(f"sqlite+aiosqlite:///{path}", migrate=True, secret_key=KEY)
    try:
        await store.users.add("a@example.org")
        await store.irc.add_network(NetworkRecord("libera", "irc.libera.chat", password=SERVER_PASSWORD))
        await store.irc.set_account("a@example.org", "libera", nick="alice", sasl_account="alice",
                                    sasl_password=SASL_PASSWORD, nickserv_password=NICKSERV_PASSWORD, transport="irc")
        files = [p for p in tmp_path.iterdir() if p.name.startswith("secret.db")]
        assert any(p.name.endswith("-wal") for p in files)
        everything = b"".join(p.read_bytes() for p in files)
        assert b"alice" in everything  # the reading works: what is not secret is there in plain text
        for secret in (SERVER_PASSWORD, SASL_PASSWORD, NICKSERV_PASSWORD):
            assert secret.encode() not in everything
    finally:
        await store.close()
    everything = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("secret.db"))
    for secret in (SERVER_PASSWORD, SASL_PASSWORD, NICKSERV_PASSWORD):
        assert secret.encode() not in everything


def test_secret_box_refuses_a_bad_key() -> None:
    with pytest.raises(ValueError, match="Fernet"):
        SecretBox("not-a-key")
    box = SecretBox(KEY)
    assert box.open(box.seal("x y")) == "x y"


async def test_accounts_are_kept_per_irc_transport(keyed: Store) -> None:
    """Two IRC transports ([transports.irc] and one with type = "irc"): a user's nick and credentials on a network
    through one are not those through the other."""
    jid = "a@example.org"
    await keyed.users.add(jid, transports=["irc", "irc-b"])
    await keyed.irc.set_account(jid, "libera", nick="alice", sasl_account="alice", sasl_password=SASL_PASSWORD,
                                transport="irc")
    assert await keyed.irc.account(jid, "libera", transport="irc-b") is None
    assert await keyed.irc.accounts(jid, transport="irc-b") == []

    await keyed.irc.set_account(jid, "libera", transport="irc-b", nick="alice_b")
    on_b = await keyed.irc.account(jid, "libera", reveal=True, transport="irc-b")
    assert on_b is not None and (on_b.nick, on_b.sasl_password) == ("alice_b", None)
    on_irc = await keyed.irc.account(jid, "libera", reveal=True, transport="irc")
    assert on_irc is not None and (on_irc.nick, on_irc.sasl_password) == ("alice", SASL_PASSWORD)
    assert [a.nick for a in await keyed.irc.accounts(jid, transport="irc")] == ["alice"]

    assert await keyed.irc.forget_account(jid, "libera", transport="irc-b") is True
    assert await keyed.irc.forget_account(jid, "libera", transport="irc-b") is False
    assert await keyed.irc.account(jid, "libera", transport="irc") is not None

    await keyed.irc.set_account(jid, "libera", transport="irc-b", nick="alice_b")
    await keyed.users.leave(jid, "irc-b")  # declared in the IRC descriptor's instance_tables
    assert await keyed.irc.account(jid, "libera", transport="irc-b") is None
    assert await keyed.irc.account(jid, "libera", transport="irc") is not None
