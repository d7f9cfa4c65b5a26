"""Access control: admins always, then each transport's members, then its mode (closed, allowlist, open)."""

from __future__ import annotations

from collections.abc import Collection

import pytest

from gateway.core.events import Refusal
from gateway.core.policy import AccessControl, AccessPolicy
from gateway.core.ports import UserRecord


class Directory:
    def __init__(self, *records: UserRecord) -> None:
        self.records = {r.jid: r for r in records}
        self.lookups = 0

    async def get_user(self, jid: str) -> UserRecord | None:
        self.lookups += 1
        return self.records.get(jid)

    async def get_users(self, jids: Collection[str]) -> dict[str, UserRecord]:
        self.lookups += 1
        return {jid: self.records[jid] for jid in jids if jid in self.records}


ALL = frozenset({"closed", "allow", "open"})
USERS = Directory(UserRecord("user@example.org", is_admin=False, enabled=True, transports=ALL),
                  UserRecord("smsonly@example.org", is_admin=False, enabled=True, transports=frozenset({"open"})),
                  UserRecord("off@example.org", is_admin=False, enabled=False),
                  UserRecord("dbadmin@example.org", is_admin=True, enabled=True),
                  UserRecord("root@example.org", is_admin=False, enabled=False))
POLICIES = {"closed": AccessPolicy("closed"), "open": AccessPolicy("open"),
            "allow": AccessPolicy("allowlist", ("*@friends.example", "bob@example.org"))}


def access() -> AccessControl:
    return AccessControl(USERS, frozenset({"root@example.org"}), POLICIES)


async def refusal(jid: str, transport: str) -> Refusal:
    with pytest.raises(Refusal) as raised:
        await access().check(jid, transport)
    return raised.value


async def test_closed_refuses_a_stranger_with_registration_required() -> None:
    refused = await refusal("stranger@example.org", "closed")
    assert refused.condition == "registration-required"
    assert "stranger@example.org" in refused.text and "admin" in refused.text


@pytest.mark.parametrize("jid", ["user@example.org", "dbadmin@example.org", "root@example.org"])
@pytest.mark.parametrize("transport", ["closed", "allow", "open"])
async def test_users_and_admins_pass_every_mode(jid: str, transport: str) -> None:
    await access().check(jid, transport)  # root is disabled in the database, but a config admin


async def test_a_user_of_another_transport_is_a_stranger_to_a_closed_one() -> None:
    await access().check("smsonly@example.org", "open")
    refused = await refusal("smsonly@example.org", "closed")
    assert refused.condition == "registration-required"
    assert "smsonly@example.org" in refused.text
    assert (await refusal("smsonly@example.org", "allow")).condition == "forbidden"


@pytest.mark.parametrize("transport", ["closed", "allow", "open"])
async def test_a_disabled_user_is_refused_everywhere(transport: str) -> None:
    refused = await refusal("off@example.org", transport)
    assert refused.condition == "forbidden"
    assert "disabled" in refused.text


@pytest.mark.parametrize("jid", ["anyone@friends.example", "bob@example.org"])
async def test_allowlist_lets_matching_jids_in(jid: str) -> None:
    await access().check(jid, "allow")


@pytest.mark.parametrize("jid", ["bob@example.com", "friends.example@evil.example", "bobby@example.org"])
async def test_allowlist_refuses_the_rest(jid: str) -> None:
    refused = await refusal(jid, "allow")
    assert refused.condition == "forbidden"
    assert jid in refused.text


async def test_open_lets_strangers_in() -> None:
    await access().check("stranger@example.org", "open")


async def test_an_unconfigured_transport_is_closed() -> None:
    assert (await refusal("stranger@example.org", "nowhere")).condition == "registration-required"


async def test_lookups_are_cached_briefly() -> None:
    directory = Directory()
    control = AccessControl(directory, frozenset(), {"open": AccessPolicy("open")})
    for _ in range(3):
        await control.check("x@example.org", "open")
    assert directory.lookups == 1
    assert AccessControl.CACHE_SECONDS < 2  # a change by the CLI must show within 2 s


async def test_who_may_no_longer_use_a_transport_is_read_in_one_lookup() -> None:
    control = access()
    before = USERS.lookups
    jids = ["user@example.org", "smsonly@example.org", "off@example.org", "dbadmin@example.org",
            "root@example.org", "stranger@example.org", "bob@example.org"]

    refused = await control.refused(jids, "closed")

    assert USERS.lookups == before + 1
    assert sorted(refused) == ["bob@example.org", "off@example.org", "smsonly@example.org", "stranger@example.org"]
    assert refused["off@example.org"].condition == "forbidden"
    assert refused["stranger@example.org"].condition == "registration-required"
    assert sorted(await control.refused(jids, "allow")) == ["off@example.org", "smsonly@example.org",
                                                            "stranger@example.org"]  # bob is on the list
    assert await control.refused(["root@example.org"], "closed") == {}  # config admins: not even looked up


async def test_the_cache_forgets_jids_once_their_records_expire() -> None:
    now = 0.0
    control = AccessControl(Directory(), frozenset(), {"open": AccessPolicy("open")}, clock=lambda: now)
    for n in range(1000):  # a thousand strangers, each once
        await control.check(f"stranger{n}@example.org", "open")
    assert control.cached == 1000
    now += AccessControl.CACHE_SECONDS + 0.1
    await control.check("one-more@example.org", "open")
    assert control.cached == 1


async def test_a_record_that_expires_while_it_is_looked_up_is_read_again() -> None:
    """The cache's clock may pass the entry's expiry between two readings of one lookup: then it is a miss, never
    an error (a message was refused with internal-server-error under load)."""
    readings = iter([0.0, AccessControl.CACHE_SECONDS - 0.01, AccessControl.CACHE_SECONDS + 0.01])
    last = [0.0]

    def clock() -> float:
        last[0] = next(readings, last[0])
        return last[0]

    directory = Directory(UserRecord("user@example.org", is_admin=False, enabled=True, transports=ALL))
    control = AccessControl(directory, frozenset(), POLICIES, clock=clock)
    control._cache["user@example.org"] = directory.records["user@example.org"]  # read at 0.0: expires at 1.0

    assert await control.user("user@example.org") == directory.records["user@example.org"]  # before: KeyError
    await control.check("user@example.org", "closed")  # a member of the closed transport passes
