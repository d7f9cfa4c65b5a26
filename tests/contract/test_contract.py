"""What every transport must do, whatever its network: run once per installed kind (see conftest.py).

send: a message reaches the far side. receive: the far side's message reaches the router for the right user.
outcomes: what became of a message is reported with the journal id it was given. refusals: an address that is none
is refused with a text a person can read. user_left: nothing of the user remains in the transport afterwards.
"""

from __future__ import annotations

import pytest

from gateway.core.events import Refusal, Status
from gateway.transports.base import AddressError
from gateway.transports.discovery import descriptors
from tests.contract.adapters import ADAPTERS
from tests.contract.kit import USER, Bench, leftovers, readable

# Contract failures found in a transport and not yet fixed there: the test is expected to fail (strictly: once it
# passes, the entry goes). contract -> kind -> what fails.
KNOWN_FAILURES: dict[str, dict[str, str]] = {}  # contract -> kind -> why it fails (a strict xfail)


def known_failure(request: pytest.FixtureRequest, contract: str, kind: str) -> None:
    reason = KNOWN_FAILURES.get(contract, {}).get(kind)
    if reason is not None:
        request.applymarker(pytest.mark.xfail(reason=reason, strict=True))


def test_every_installed_transport_has_an_adapter() -> None:
    missing = set(descriptors()) - set(ADAPTERS)
    assert not missing, f"tests/contract/adapters.py has no far side for {sorted(missing)}"


async def test_send_reaches_the_far_side(bench: Bench) -> None:
    message = await bench.send("contract: hello there")
    await bench.foreign.received(bench, message)


async def test_receive_reaches_the_router_for_the_user(bench: Bench) -> None:
    expected = await bench.foreign.say(bench, "contract: a word from afar")
    found = await bench.router.wait(lambda: [m for m in bench.router.inbound if m.body == expected])
    [message] = found
    assert message.user == USER
    assert message.transport == bench.transport.name
    assert message.peer == bench.foreign.peer
    assert message.room_nick is None, "a message to the user, not to a room"
    assert not bench.router.held, "nothing was kept aside as unroutable or blocked"


async def test_outcome_is_reported_with_the_journal_id(bench: Bench) -> None:
    message = await bench.send("contract: an outcome, please")
    settled = await bench.settled(message)
    assert settled.status is bench.foreign.final, settled
    assert settled.message.journal_id == message.journal_id
    reported = bench.router.outcomes_of(message.journal_id or 0)
    assert all(o.message == message for o in reported), "each report carries the message as it was given"
    assert not [o for o in bench.router.outcomes if o.message.journal_id != message.journal_id]


async def test_failure_is_reported_with_a_text(bench: Bench) -> None:
    peer = bench.foreign.failing_peer
    if peer is None:
        pytest.skip(f"nothing fails on {bench.transport.name} once an address is taken")
    message = await bench.send("contract: this one fails", peer=peer)
    settled = await bench.settled(message)
    assert settled.status is Status.FAILED, settled
    assert settled.message.journal_id == message.journal_id
    assert readable(settled.error_text), settled.error_text


async def test_an_invalid_address_is_refused_with_a_readable_text(bench: Bench) -> None:
    for local_part in bench.foreign.invalid_peers:
        with pytest.raises(Refusal) as refused:
            bench.transport.normalize_peer(local_part)
        assert isinstance(refused.value, AddressError), f"{local_part!r}: {refused.value!r}"
        assert readable(refused.value.text), f"{local_part!r}: {refused.value.text!r}"
    with pytest.raises(AddressError) as refused:
        bench.transport.address_from_prompt("not an address at all !!")
    assert readable(refused.value.text), refused.value.text


async def test_nothing_of_a_user_remains_after_user_left(bench: Bench, request: pytest.FixtureRequest) -> None:
    known_failure(request, "user_left", bench.transport.name)
    # Some traffic each way first, so that whatever a transport keeps per user exists.
    message = await bench.send("contract: before leaving")
    await bench.foreign.received(bench, message)
    expected = await bench.foreign.say(bench, "contract: still there?")
    await bench.router.wait(lambda: any(m.body == expected for m in bench.router.inbound))
    await bench.settled(message)

    await bench.transport.user_left(USER)
    shared = (bench.router, bench.rooms, bench.store, bench.transport.context, bench.transport.settings)
    left = leftovers(bench.transport, USER, skip=shared)
    assert not left, f"{bench.transport.name} still holds {USER} after user_left at {left[:10]}"
