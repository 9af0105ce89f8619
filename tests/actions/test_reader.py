"""actions/reader.py against a table of real phrasings (tests/actions/reader_cases.yml).

Each row gives the text and every fact it must give, no more: `facts` is compared exactly,
so a fact read by mistake fails as surely as one missed. `absent` (optional) names slots
that must not be set, to say why a row is there. Times are either exact ISO strings or
{minutes_ago: N} against the fixed clock below.
"""
from __future__ import annotations

import dataclasses
import inspect
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Dict
from zoneinfo import ZoneInfo

import pytest
import yaml

from actions import names as n
from actions import reader
from actions.reader import SLOT_FLUID_BLOOD, SLOT_INJURY_BITE, Heard, read_facts

LONDON = ZoneInfo("Europe/London")
# Tuesday 1 December 2026, 14:00 in London (GMT, so +00:00).
NOW = datetime(2026, 12, 1, 14, 0, tzinfo=LONDON)
CASES_FILE = Path(__file__).with_name("reader_cases.yml")

VOCABULARY: Dict[str, Any] = {
    n.SLOT_EXPOSURE_TYPE: {"percutaneous", "mucocutaneous", "non_intact_skin", "intact_skin"},
    n.SLOT_FLUID: {"blood", "blood_stained", "high_risk_other", "low_risk"},
    SLOT_FLUID_BLOOD: {n.YES, n.NO},
    SLOT_INJURY_BITE: {n.YES},
    n.SLOT_SOURCE_KNOWN: {n.YES, n.NO},
    n.SLOT_DEVICE_KIND: {"hollow_bore_needle", "solid_needle", "scalpel", "lancet", "other"},
    n.SLOT_DEVICE_USED: {n.YES, n.NO},
    n.SLOT_DEVICE_IN_VESSEL: {n.YES, n.NO},
    n.SLOT_VISIBLE_BLOOD: {n.YES, n.NO},
    n.SLOT_INJURY_DEEP: {n.YES, n.NO},
    n.SLOT_GLOVES: {n.YES, n.NO},
    n.SLOT_HBV_STATUS: {"responder", "non_responder", "partial", "unvaccinated", "vaccinated"},
    n.SLOT_PREGNANCY: {"pregnant", "breastfeeding", "neither"},
}
BBV_ORDER = ["hiv", "hiv_suspected", "hiv_negative", "hbv", "hbv_suspected", "hbv_negative", "hcv", "hcv_suspected",
             "hcv_negative", "none", "unknown"]
RISK_ORDER = ["injecting_drug_use", "high_prevalence_country", "msm", "known_viraemic", "other"]


def minutes_before_now(minutes: float) -> str:
    return (NOW - timedelta(minutes=minutes)).isoformat()


def _yes_no(value: Any) -> Any:
    """YAML 1.1 reads an unquoted yes/no as a boolean: read it back as the slot's word."""
    if value is True:
        return n.YES
    if value is False:
        return n.NO
    return value


def _expected(facts: Dict[str, Any]) -> Dict[str, Any]:
    expected = {}
    for slot, value in (facts or {}).items():
        if slot == n.SLOT_OCCURRED_AT and isinstance(value, dict):
            expected[slot] = _yes_no(minutes_before_now(value["minutes_ago"]))
        else:
            expected[slot] = _yes_no(value)
    return expected


def _load():
    rows = yaml.safe_load(CASES_FILE.read_text(encoding="utf-8"))["cases"]
    return [pytest.param(row, id=f"{i:03d} {row['text'][:60]}") for i, row in enumerate(rows, start=1)]


CASES = _load()


def test_the_table_is_large_and_has_no_repeats():
    texts = [case.values[0]["text"] for case in CASES]
    assert len(texts) >= 220
    assert len(texts) == len(set(texts))


@pytest.mark.parametrize("row", CASES)
def test_reads_the_facts(row):
    text = row["text"]
    heard = read_facts(text, now=NOW)
    got = {slot: fact.value for slot, fact in heard.items()}
    assert got == _expected(row["facts"]), f"\n  text: {text!r}\n  words: { {s: f.words for s, f in heard.items()} }"
    for slot in row.get("absent", []):
        assert slot not in heard, f"{slot} should not be read from {text!r}"


@pytest.mark.parametrize("row", CASES)
def test_each_fact_quotes_the_message_and_is_in_the_vocabulary(row):
    text = row["text"]
    for slot, fact in read_facts(text, now=NOW).items():
        assert isinstance(fact, Heard)
        assert fact.words and fact.words in text, f"{slot}: {fact.words!r} is not in {text!r}"
        if slot == n.SLOT_OCCURRED_AT:
            moment = datetime.fromisoformat(fact.value)
            assert moment.utcoffset() is not None and moment <= NOW + timedelta(minutes=2)
        elif slot == n.SLOT_SOURCE_BBV:
            assert fact.value and fact.value == [v for v in BBV_ORDER if v in fact.value]
            assert len(set(fact.value)) == len(fact.value)
        elif slot == n.SLOT_SOURCE_RISK:
            assert fact.value and fact.value == [v for v in RISK_ORDER if v in fact.value]
        else:
            assert fact.value in VOCABULARY[slot], f"{slot}={fact.value!r}"


# -- the interface the sharps form codes against ------------------------------------------------
def test_the_interface():
    assert dataclasses.is_dataclass(Heard)
    assert [f.name for f in dataclasses.fields(Heard)] == ["value", "words"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        Heard("yes", "used").value = "no"  # type: ignore[misc]
    params = inspect.signature(read_facts).parameters
    assert list(params) == ["text", "now", "tz"]
    assert params["now"].kind is inspect.Parameter.KEYWORD_ONLY
    assert params["tz"].default == "Europe/London"
    assert SLOT_FLUID_BLOOD == "fluid_blood" and SLOT_INJURY_BITE == "injury_bite"


def test_slot_names_are_the_forms():
    names = {value for key, value in vars(n).items() if key.startswith("SLOT_")}
    text = ("needlestick with a used hollow needle after taking blood from the patient 10 mins ago, "
            "visible blood, deep, no gloves, patient is hep c positive and injects, "
            "I'm a non responder and I'm pregnant")
    heard = read_facts(text, now=NOW)
    assert set(heard) <= names | {SLOT_FLUID_BLOOD, SLOT_INJURY_BITE}
    assert len(heard) >= 12


@pytest.mark.parametrize("text", ["", "   ", "!!!", "😀", "?", "...", "\n"])
def test_empty_or_unreadable_text_gives_nothing(text):
    assert read_facts(text, now=NOW) == {}


def test_the_clock_is_the_one_passed_in():
    later = NOW + timedelta(days=3, hours=5)
    assert read_facts("10 mins ago", now=later)[n.SLOT_OCCURRED_AT].value == \
        (later - timedelta(minutes=10)).isoformat()
    assert read_facts("just now", now=NOW)[n.SLOT_OCCURRED_AT].value == NOW.isoformat()


def test_a_naive_clock_and_another_zone():
    naive = datetime(2026, 7, 1, 14, 0)  # summer: London is +01:00
    value = read_facts("10 mins ago", now=naive)[n.SLOT_OCCURRED_AT].value
    assert value == "2026-07-01T13:50:00+01:00"
    value = read_facts("at 9am", now=datetime(2026, 7, 1, 14, 0, tzinfo=ZoneInfo("UTC")), tz="UTC")[
        n.SLOT_OCCURRED_AT].value
    assert value == "2026-07-01T09:00:00+00:00"


def test_a_message_is_read_the_same_way_twice():
    text = "stabbed myself with a used needle, pt has hep c, 20 mins ago"
    assert read_facts(text, now=NOW) == read_facts(text, now=NOW)


def test_the_first_message_of_the_brief_in_full():
    text = "I just had a needlestick from a used needle, the patient is HIV positive, it happened 10 minutes ago"
    heard = read_facts(text, now=NOW)
    assert heard[n.SLOT_OCCURRED_AT] == Heard(minutes_before_now(10), "10 minutes ago")
    assert heard[n.SLOT_SOURCE_BBV] == Heard(["hiv"], "HIV positive")
    assert heard[n.SLOT_DEVICE_USED].words == "used"


def test_no_io_at_import_and_regexes_compiled_once():
    source = inspect.getsource(reader)
    for word in ("open(", "read_text", "requests", "urlopen", "datetime.now", "time.time"):
        assert word not in source
    assert all(hasattr(row.regex, "finditer") for row in reader.ROWS)


def test_fast_enough():
    texts = [case.values[0]["text"] for case in CASES]
    for text in texts:  # warm up (dateparser loads its data on first use)
        read_facts(text, now=NOW)
    start = time.perf_counter()
    for text in texts:
        read_facts(text, now=NOW)
    per_message_ms = (time.perf_counter() - start) * 1000 / len(texts)
    assert per_message_ms < 5, f"{per_message_ms:.2f} ms per message"
