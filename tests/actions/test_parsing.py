"""Table-driven tests for actions/parsing.py, against a fixed clock."""

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from actions.parsing import (
    is_dont_know,
    normalise,
    parse_choice,
    parse_phone,
    parse_when,
    parse_yes_no_unknown,
)

LONDON = ZoneInfo("Europe/London")
# Monday 23 November 2026, 16:05 in London (GMT, so equal to UTC).
NOW = datetime(2026, 11, 23, 16, 5, tzinfo=LONDON)


def at(day, hour, minute=0, month=11, year=2026):
    return datetime(year, month, day, hour, minute, tzinfo=LONDON)


WHEN_CASES = [
    ("20 mins ago", at(23, 15, 45)),
    ("about 20 mins ago", at(23, 15, 45)),
    ("10 minutes ago", at(23, 15, 55)),
    ("an hour ago", at(23, 15, 5)),
    ("1 hr ago", at(23, 15, 5)),
    ("half an hour ago", at(23, 15, 35)),
    ("a couple of hours ago", at(23, 14, 5)),
    ("just now", NOW),
    ("a moment ago", NOW),
    ("Just now!", NOW),
    ("at 3pm", at(23, 15)),
    ("at 5pm", at(22, 17)),  # 5pm today has not happened yet: yesterday
    ("at 16:30", at(22, 16, 30)),
    ("21:00", at(22, 21)),
    ("at 9", at(23, 9)),
    ("about half two", at(23, 14, 30)),  # most recent half past two
    ("2:30", at(23, 14, 30)),
    ("quarter to 3", at(23, 14, 45)),
    ("3 o'clock", at(23, 15)),
    ("at 0930hrs", at(23, 9, 30)),
    ("it happened at 11:15 today", at(23, 11, 15)),
    ("this morning", at(23, 9)),
    ("this morning about 9", at(23, 9)),
    ("around lunchtime", at(23, 12, 30)),
    ("yesterday evening", at(22, 19)),
    ("yesterday evening about 7", at(22, 19)),
    ("yesterday morning", at(22, 9)),
    ("yesterday at 4pm", at(22, 16)),
    ("yesterday at 4", at(22, 16)),  # an earlier day's unmarked 1-6 is afternoon
    ("yesterday at 9", at(22, 9)),
    ("last night", at(22, 22)),
    ("last night around 10", at(22, 22)),
    ("last night at 2", at(23, 2)),  # small hours after last night
    ("sunday night", at(22, 22)),
    ("on monday afternoon", at(23, 15)),  # today is Monday
    ("last friday", at(20, 12)),  # a date without a time is midday
    ("yesterday", at(22, 12)),
    ("14/11 at 09:30", at(14, 9, 30)),
    ("12/11 at 16:45", at(12, 16, 45)),
    ("14/11", at(14, 12)),
    ("30/11", at(30, 12, year=2025)),  # 30 November this year is still to come
    ("14/11/2025 at 10pm", at(14, 22, year=2025)),
    ("14th november at 9.30am", at(14, 9, 30)),
    ("2 days ago at 3pm", at(21, 15)),
]


@pytest.mark.parametrize("text, expected", WHEN_CASES)
def test_parse_when(text, expected):
    result = parse_when(text, now=NOW)
    assert result == expected
    assert result.tzinfo is not None


@pytest.mark.parametrize("text", ["", None, "dunno", "blah", "the patient had hiv", "31/02", "tomorrow at 3",
                                  "next week"])
def test_parse_when_unreadable_or_future_is_none(text):
    assert parse_when(text, now=NOW) is None


def test_parse_when_accepts_utc_now_and_returns_london_time_in_summer():
    summer_now = datetime(2026, 7, 1, 8, 0, tzinfo=timezone.utc)  # 09:00 BST
    result = parse_when("20 mins ago", now=summer_now)
    assert result == datetime(2026, 7, 1, 8, 40, tzinfo=LONDON)
    assert result.utcoffset().total_seconds() == 3600
    assert parse_when("at 8am", now=summer_now) == datetime(2026, 7, 1, 8, 0, tzinfo=LONDON)


def test_parse_when_treats_naive_now_as_local():
    assert parse_when("just now", now=NOW.replace(tzinfo=None)) == NOW


@pytest.mark.parametrize(
    "text, expected",
    [
        ("07400 123456", "+447400123456"),
        ("my number is 07400123456", "+447400123456"),
        ("+44 7400 123456", "+447400123456"),
        ("call me on 0161 496 0000 thanks", "+441614960000"),
        ("020 7946 0018", "+442079460018"),
        ("0044 7400 123456", "+447400123456"),
    ],
)
def test_parse_phone(text, expected):
    assert parse_phone(text) == expected


# 07700 900xxx is Ofcom's drama range: well-formed but never a real number.
@pytest.mark.parametrize("text", ["", None, "12345", "07400 1234", "no phone", "call me maybe", "07700 900123"])
def test_parse_phone_rejects_invalid(text):
    assert parse_phone(text) is None


OPTIONS = ["Sharps injury or splash", "Manager question", "Something else"]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("2", "Manager question"),
        ("2.", "Manager question"),
        (" 2) ", "Manager question"),
        ("option 2", "Manager question"),
        ("Option 3", "Something else"),
        ("#1", "Sharps injury or splash"),
        ("the first one", "Sharps injury or splash"),
        ("second", "Manager question"),
        ("last", "Something else"),
        ("manager", "Manager question"),
        ("sharps", "Sharps injury or splash"),
        ("MANAGER QUESTION", "Manager question"),
        ("its the manager question please", "Manager question"),
        ("the manager one", "Manager question"),
        ("4", None),
        ("0", None),
        ("banana", None),
        ("", None),
    ],
)
def test_parse_choice(text, expected):
    assert parse_choice(text, OPTIONS) == expected


def test_parse_choice_ambiguous_word_is_none():
    assert parse_choice("injury", ["Sharps injury", "Splash injury"]) is None
    assert parse_choice("2", []) is None


@pytest.mark.parametrize(
    "text, expected",
    [
        ("yes", "yes"), ("Yeah", "yes"), ("yep!", "yes"), ("y", "yes"), ("correct", "yes"),
        ("yes i did", "yes"), ("ok", "yes"),
        ("no", "no"), ("nope", "no"), ("nah", "no"), ("not really", "no"),
        ("dont think so", "no"), ("no she isnt", "no"), ("i didnt", "no"), ("never", "no"),
        ("dunno", "unknown"), ("no idea", "unknown"), ("not sure", "unknown"),
        ("I don\u2019t know", "unknown"), ("cant remember", "unknown"), ("idk", "unknown"),
        ("yes and no", None), ("purple", None), ("", None), (None, None),
    ],
)
def test_parse_yes_no_unknown(text, expected):
    assert parse_yes_no_unknown(text) == expected


@pytest.mark.parametrize(
    "text, expected",
    [("dunno", True), ("Not sure tbh", True), ("no idea", True), ("i can't remember", True),
     ("unknown", True), ("no", False), ("yes", False), ("a needle", False), ("", False), (None, False)],
)
def test_is_dont_know(text, expected):
    assert is_dont_know(text) is expected


@pytest.mark.parametrize(
    "text, expected",
    [("  Hello,   World!! ", "hello world"), ("Don\u2019t KNOW", "dont know"), ("hep-b", "hep b"),
     (None, ""), ("", "")],
)
def test_normalise(text, expected):
    assert normalise(text) == expected
