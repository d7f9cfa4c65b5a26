"""A Refusal travels through context managers like any exception (they set its __traceback__)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest

from gateway.core.events import Refusal
from gateway.transports.base import AddressError


@contextlib.contextmanager
def passing_through() -> Iterator[None]:
    yield


@pytest.mark.parametrize("refusal", [Refusal("forbidden", "no"), AddressError("not an address")])
def test_a_refusal_passes_through_a_context_manager(refusal: Refusal) -> None:
    with pytest.raises(Refusal) as raised, passing_through():
        raise refusal
    assert raised.value is refusal
    assert str(raised.value) == f"{refusal.condition}: {refusal.text}"
