"""Example phone numbers in the README and deploy/ are numbers `number_check = "valid"` accepts."""

from __future__ import annotations

from pathlib import Path

from tests.test_cli import example_numbers, refused_examples

ROOT = Path(__file__).resolve().parents[2]


def test_every_example_number_in_the_docs_passes_the_valid_check() -> None:
    texts = [(ROOT / "README.md").read_text()] + [path.read_text() for path in sorted((ROOT / "deploy").iterdir())
                                                  if path.is_file()]
    assert any(example_numbers(text) for text in texts)
    assert refused_examples(texts) == []
