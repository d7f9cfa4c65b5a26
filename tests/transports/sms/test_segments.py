from __future__ import annotations

import pytest

from gateway.transports.sms.segments import (
    GSM7_BASIC,
    GSM7_EXTENSION,
    count_segments,
    encoding_of,
    split_body,
    utf16_length,
)


def test_gsm7_alphabet_sizes() -> None:
    assert len(GSM7_BASIC) == 127  # 128 codes, one of them the escape to the extension table
    assert len(GSM7_EXTENSION) == 10
    assert not GSM7_BASIC & GSM7_EXTENSION


@pytest.mark.parametrize(
    ("text", "encoding"),
    [
        ("Hello, world! @£$¥ èéùìò ÇØøÅå ΔΦΓΛΩΠΨΣΘΞ ÆæßÉ ¡¿ ÄÖÑÜ§ äöñüà", "GSM-7"),
        ("braces {} [] ~ | \\ ^ € and a form feed \f", "GSM-7"),
        ("façade", "UCS-2"),  # lower-case ç is not in the GSM alphabet, Ç is
        ("“smart quotes”", "UCS-2"),
        ("Привет", "UCS-2"),
        ("ok 😀", "UCS-2"),
        ("", "GSM-7"),
    ],
)
def test_encoding(text: str, encoding: str) -> None:
    assert encoding_of(text) == encoding


@pytest.mark.parametrize(
    ("text", "units", "segments"),
    [
        ("", 0, 0),
        ("a" * 160, 160, 1),
        ("a" * 161, 161, 2),
        ("a" * 306, 306, 2),
        ("a" * 307, 307, 3),
        # extension characters take two septets
        ("€" * 80, 160, 1),
        ("€" * 81, 162, 2),
        ("a" * 159 + "{", 161, 2),
        # an escape sequence never straddles two segments: 152 + (2 moved on) ... one more segment
        ("a" * 152 + "€" + "a" * 152, 306, 3),
        # UCS-2: 70 / 67 UTF-16 code units
        ("ж" * 70, 70, 1),
        ("ж" * 71, 71, 2),
        ("ж" * 134, 134, 2),
        ("ж" * 135, 135, 3),
        # emoji are surrogate pairs: two code units each, never split between segments
        ("😀" * 35, 70, 1),
        ("😀" * 36, 72, 2),
        ("a" * 66 + "😀" + "a" * 66, 134, 3),
        # one non-GSM character turns the whole text into UCS-2
        ("a" * 69 + "ç", 70, 1),
        ("a" * 70 + "ç", 71, 2),
    ],
)
def test_count_segments(text: str, units: int, segments: int) -> None:
    info = count_segments(text)
    assert (info.units, info.segments) == (units, segments)


def test_short_body_is_one_part() -> None:
    assert split_body("hello") == ["hello"]
    assert split_body("x" * 1600) == ["x" * 1600]
    assert split_body("") == [""]


def test_long_body_splits_at_word_boundaries_in_order() -> None:
    words = [f"word{i}" for i in range(700)]
    text = " ".join(words)
    assert len(text) > 3 * 1600
    parts = split_body(text)
    assert len(parts) == 4
    assert all(1590 <= len(part) <= 1600 for part in parts[:-1])  # full parts: cut at the last space that fits
    assert " ".join(parts) == text  # in order, nothing lost, and every cut fell on a space
    for part in parts:
        assert part.split(" ")[0] in words and part.split(" ")[-1] in words


def test_1601_characters_make_two_parts() -> None:
    text = "a" * 1000 + " " + "b" * 600
    assert split_body(text) == ["a" * 1000, "b" * 600]


def test_a_word_longer_than_a_part_is_cut() -> None:
    parts = split_body("x" * 4000)
    assert [len(part) for part in parts] == [1600, 1600, 800]


def test_limits_count_utf16_code_units() -> None:
    text = "😀" * 1000  # 2,000 code units
    parts = split_body(text)
    assert "".join(parts) == text
    assert [utf16_length(part) for part in parts] == [1600, 400]


@pytest.mark.parametrize(
    "cluster",
    [
        "👨\u200d👩\u200d👧",  # ZWJ family
        "🇫🇷",  # a flag: two regional indicators
        "e\u0301",  # a combining accent
        "👍🏽",  # a skin-tone modifier
        "❤\ufe0f",  # a variation selector
        "1\ufe0f\u20e3",  # a keycap
    ],
)
def test_split_never_breaks_a_user_perceived_character(cluster: str) -> None:
    text = cluster * 50
    parts = split_body(text, limit=17)  # an odd limit, so a naive cut would fall inside clusters
    assert "".join(parts) == text
    for part in parts:
        assert utf16_length(part) <= 17
        assert len(part) % len(cluster) == 0 and part == cluster * (len(part) // len(cluster))


def test_split_prefers_whitespace_over_grapheme_boundaries() -> None:
    assert split_body("aaaaaa bbbbbbb", limit=10) == ["aaaaaa", "bbbbbbb"]
    # but not at the price of a nearly empty part
    assert split_body("aa bbbbbbbbbbbb", limit=10) == ["aa bbbbbbb", "bbbbb"]
