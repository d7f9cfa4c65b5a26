"""How the CLI prints records: an aligned table for people, or JSON for scripts."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, TextIO


def print_records(rows: Sequence[Mapping[str, Any]], columns: Sequence[str], out: TextIO,
                  as_json: bool = False) -> None:
    if as_json:
        out.write(json.dumps([{c: row[c] for c in columns} for row in rows], indent=2, default=str) + "\n")
        return
    if not rows:
        out.write("(none)\n")
        return
    cells = [[_cell(row[c]) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    out.write("  ".join(c.upper().ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip() + "\n")
    for row in cells:
        out.write("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip() + "\n")


def _cell(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return "" if value is None else str(value)
