"""How records are printed: an aligned table for people, JSON for scripts."""

from __future__ import annotations

import io
import json

from gateway.admin.output import print_records

ROWS = [{"jid": "alice@example.org", "is_admin": True, "note": None},
        {"jid": "bob@example.org", "is_admin": False, "note": "on leave"}]


def printed(rows: list[dict[str, object]], as_json: bool = False) -> str:
    out = io.StringIO()
    print_records(rows, ["jid", "is_admin", "note"], out, as_json=as_json)
    return out.getvalue()


def test_a_table_has_aligned_columns_and_readable_cells() -> None:
    assert printed(ROWS) == (
        "JID                IS_ADMIN  NOTE\n"
        "alice@example.org  yes\n"
        "bob@example.org    no        on leave\n")


def test_an_empty_table_says_so() -> None:
    assert printed([]) == "(none)\n"


def test_json_keeps_types_and_only_the_columns() -> None:
    rows = [{**ROWS[0], "secret": "x"}]
    assert json.loads(printed(rows, as_json=True)) == [{"jid": "alice@example.org", "is_admin": True, "note": None}]
    assert json.loads(printed([], as_json=True)) == []
