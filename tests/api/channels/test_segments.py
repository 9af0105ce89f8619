"""SMS segment counting (api/channels/segments.py): GSM-7 versus UCS-2, 160/153 and 70/67.

The property tests draw from the fixed, derandomized profile that tests/api/conftest.py loads.
"""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from api.channels import segments
from api.channels.segments import GSM7_BASIC, GSM7_EXTENSION, encoding, non_gsm

GSM_BASIC_TEXT = st.text(alphabet=sorted(GSM7_BASIC), max_size=700)
GSM_TEXT = st.text(alphabet=sorted(GSM7_BASIC | GSM7_EXTENSION), max_size=700)
# Any text: GSM characters mixed with typographic punctuation, accents and emoji (astral too).
ANY_TEXT = st.text(
    alphabet=st.one_of(st.sampled_from(sorted(GSM7_BASIC | GSM7_EXTENSION)),
                       st.sampled_from(["\u2019", "\u201c", "\u2013", "\u00e7", "\u00a0", "\U0001f600", "\u00e1"]),
                       st.characters(codec="utf-8", exclude_categories=("Cs",))),
    max_size=400,
)
CURLY = ["\u2018", "\u2019", "\u201c", "\u201d"]


@pytest.mark.parametrize("text,count", [
    ("", 0),
    ("a", 1),
    ("a" * 160, 1),
    ("a" * 161, 2),
    ("a" * 306, 2),  # 2 x 153
    ("a" * 307, 3),
    ("a" * 459, 3),  # 3 x 153
    ("a" * 460, 4),
    ("\n" * 160, 1),  # LF is one septet
])
def test_gsm7_single_and_concatenated_limits(text, count):
    assert encoding(text) == "GSM-7"
    assert segments.segments(text) == count


@pytest.mark.parametrize("text,count", [
    ("\u00e1" * 70, 1),
    ("\u00e1" * 71, 2),
    ("\u00e1" * 134, 2),  # 2 x 67
    ("\u00e1" * 135, 3),
])
def test_ucs2_single_and_concatenated_limits(text, count):
    assert encoding(text) == "UCS-2"
    assert segments.segments(text) == count


def test_extension_characters_cost_two_septets():
    assert segments.length("[]") == 4
    assert segments.segments("\u20ac" * 80) == 1  # 160 septets
    assert segments.segments("\u20ac" * 80 + "a") == 2
    assert segments.segments("{" * 81) == 2


def test_an_escape_pair_is_never_split_across_segments():
    # 152 septets, then a 2-septet "€": it cannot share the first segment's last septet.
    text = "a" * 152 + "\u20ac" + "a" * 152
    assert segments.length(text) == 306  # would fit 2 x 153 if the pair could be split
    assert segments.segments(text) == 3
    assert segments.segments("a" * 151 + "\u20ac" + "a" * 153) == 2  # the pair ends segment 1 exactly


def test_a_surrogate_pair_is_never_split_across_segments():
    emoji = "\U0001f600"  # outside the BMP: 2 UTF-16 code units
    assert segments.length(emoji) == 2
    assert segments.segments(emoji * 35) == 1  # 70 code units
    assert segments.segments(emoji * 35 + "a") == 2
    text = "\u00e1" * 66 + emoji + "\u00e1" * 66  # 134 units; the pair cannot straddle segments 1 and 2
    assert segments.segments(text) == 3
    assert segments.segments("\u00e1" * 65 + emoji + "\u00e1" * 67) == 2


@pytest.mark.parametrize("char", ["\u2019", "\u201c", "\u2013", "\u2014", "\u2026", "\u00a0", "\u00e7", "\u00e1",
                                  "\U0001f600", "\t", "`"])
def test_characters_outside_gsm7(char):
    assert non_gsm(f"It{char}s here") == [char]
    assert encoding(f"It{char}s here") == "UCS-2"


@pytest.mark.parametrize("char", ["'", '"', "-", "\u00a3", "\u00e9", "\u00c7", "@", "_", "\n", "\r", "&", "\u20ac",
                                  "[", "~", "|", "^", "\\", "\f"])
def test_characters_inside_gsm7(char):
    assert non_gsm(f"It{char}s here") == []
    assert encoding(f"It{char}s here") == "GSM-7"


def test_non_gsm_lists_each_offender_once_in_order():
    assert non_gsm("\u201cDon\u2019t\u201d \u2013 ok \u2019") == ["\u201c", "\u2019", "\u201d", "\u2013"]


def test_gsm_tables_are_the_3gpp_sizes():
    assert len(GSM7_BASIC) == 127  # 128 codes, less ESC (0x1B)
    assert len(GSM7_EXTENSION) == 10
    assert not GSM7_BASIC & GSM7_EXTENSION


@given(GSM_TEXT)
def test_a_gsm_text_never_uses_ucs2(text):
    assert encoding(text) == "GSM-7"
    assert non_gsm(text) == []


@given(GSM_BASIC_TEXT)
def test_basic_gsm_segments_are_the_arithmetic(text):
    n = len(text)
    expected = 0 if n == 0 else 1 if n <= 160 else -(-n // 153)
    assert segments.segments(text) == expected


@given(GSM_TEXT.filter(bool), st.sampled_from(CURLY), st.integers(min_value=0, max_value=700))
def test_one_curly_quote_switches_the_encoding(text, quote, where):
    where = min(where, len(text))
    curly = text[:where] + quote + text[where:]
    assert encoding(curly) == "UCS-2"
    assert non_gsm(curly) == [quote]
    assert segments.segments(curly) >= segments.segments(text)
    plain = text[:where] + "'" + text[where:]
    assert segments.segments(curly) >= segments.segments(plain)


@given(ANY_TEXT, st.text(alphabet=sorted(GSM7_BASIC | GSM7_EXTENSION), min_size=1, max_size=50))
def test_segments_are_monotonic_in_length(text, more):
    """Adding GSM characters to a text never makes it cheaper."""
    assert segments.segments(text + more) >= segments.segments(text)


@given(ANY_TEXT, ANY_TEXT)
def test_a_longer_text_costs_at_least_as_much(text, more):
    assert segments.segments(text + more) >= segments.segments(text)


@given(ANY_TEXT)
def test_segments_bound_the_length(text):
    """Each segment is full enough: never more segments than the units need, plus the
    characters that could not straddle a boundary; never fewer than the units need."""
    count, units = segments.segments(text), segments.length(text)
    if not text:
        assert count == 0
        return
    single, per = (160, 153) if encoding(text) == "GSM-7" else (70, 67)
    if units <= single:
        assert count == 1
    else:
        assert -(-units // per) <= count <= -(-units // (per - 1))


@given(ANY_TEXT)
def test_encoding_is_gsm7_exactly_when_nothing_is_outside_it(text):
    assert (encoding(text) == "GSM-7") == (non_gsm(text) == [])
    assert all(ch in text for ch in non_gsm(text))
