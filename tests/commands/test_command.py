"""A command's fields are checked where they are declared, not when a user's client asks for the form."""

from __future__ import annotations

import pytest

from gateway.commands.command import Field, FieldType


def test_options_go_with_a_list_field_only() -> None:
    assert Field("choice", "on or off", FieldType.LIST, options=("on", "off")).options == ("on", "off")
    with pytest.raises(ValueError, match="'mode'"):
        Field("mode", "a mode", FieldType.TEXT, options=("a", "b"))
    with pytest.raises(ValueError, match="'choice'"):
        Field("choice", "on or off", FieldType.LIST)
