"""actions/listening.py: what a volunteered fact does to the answers already given."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from actions import names as n
from actions.listening import is_empty, merge


@dataclass(frozen=True)
class Fact:
    value: Any
    words: str = "words"


def facts(**values):
    return {slot: Fact(value) for slot, value in values.items()}


def test_an_unanswered_question_takes_the_fact_and_its_words():
    result = merge({}, {n.SLOT_FLUID: Fact("blood", "blood on it")})
    assert result.set == {n.SLOT_FLUID: "blood"}
    assert result.words == {n.SLOT_FLUID: "blood on it"}
    assert result.confirm is None


def test_dont_know_is_filled_by_a_fact_given_later():
    assert merge({n.SLOT_FLUID: n.UNKNOWN}, facts(fluid="blood")).set == {n.SLOT_FLUID: "blood"}
    assert merge({n.SLOT_SOURCE_BBV: [n.UNKNOWN]}, facts(source_bbv=["hiv"])).set == {n.SLOT_SOURCE_BBV: ["hiv"]}


def test_a_later_hedge_never_erases_a_virus():
    result = merge({n.SLOT_SOURCE_BBV: ["hcv"]}, facts(source_bbv=[n.UNKNOWN]))
    assert result.set == {} and result.confirm is None


def test_a_hedge_fills_an_unanswered_virus_question_as_unknown():
    assert merge({}, facts(source_bbv=[n.UNKNOWN])).set == {n.SLOT_SOURCE_BBV: [n.UNKNOWN]}


def test_viruses_only_grow():
    result = merge({n.SLOT_SOURCE_BBV: ["hcv"]}, facts(source_bbv=["hiv"]))
    assert result.set == {n.SLOT_SOURCE_BBV: ["hiv", "hcv"]}


def test_a_positive_over_a_negative_test_is_applied_at_once():
    result = merge({n.SLOT_SOURCE_BBV: ["none"]}, facts(source_bbv=["hiv"]))
    assert result.set == {n.SLOT_SOURCE_BBV: ["hiv", "hbv_negative", "hcv_negative"]}
    assert result.confirm is None


def test_a_negative_over_a_positive_waits_for_confirmation():
    result = merge({n.SLOT_SOURCE_BBV: ["hiv"]}, facts(source_bbv=["none"]))
    assert result.set == {}
    assert result.confirm == (n.SLOT_SOURCE_BBV, ["none"], "words")


def test_a_riskier_answer_replaces_at_once_a_safer_one_waits():
    assert merge({n.SLOT_FLUID: "low_risk"}, facts(fluid="blood")).set == {n.SLOT_FLUID: "blood"}
    lower = merge({n.SLOT_FLUID: "blood"}, facts(fluid="low_risk"))
    assert lower.set == {} and lower.confirm[0] == n.SLOT_FLUID
    assert merge({n.SLOT_DEVICE_USED: n.NO}, facts(device_used=n.YES)).set == {n.SLOT_DEVICE_USED: n.YES}
    assert merge({n.SLOT_DEVICE_USED: n.YES}, facts(device_used=n.NO)).confirm[0] == n.SLOT_DEVICE_USED


def test_the_same_answer_again_changes_nothing():
    result = merge({n.SLOT_EXPOSURE_TYPE: "percutaneous"}, facts(exposure_type="percutaneous"))
    assert result.set == {} and result.confirm is None


def test_times_close_together_are_the_same_moment_far_apart_are_asked():
    old = {n.SLOT_OCCURRED_AT: "2026-11-23T14:50:00+00:00"}
    assert merge(old, facts(occurred_at="2026-11-23T14:40:00+00:00")).set == {}
    far = merge(old, facts(occurred_at="2026-11-22T21:00:00+00:00"))
    assert far.set == {} and far.confirm[0] == n.SLOT_OCCURRED_AT


def test_only_one_contradiction_is_asked_at_a_time():
    result = merge({n.SLOT_FLUID: "blood", n.SLOT_DEVICE_USED: n.YES}, facts(fluid="low_risk", device_used=n.NO))
    assert result.confirm[0] == n.SLOT_FLUID


def test_an_explicit_correction_applies_unless_it_lowers_the_risk():
    old = {n.SLOT_OCCURRED_AT: "2026-11-23T14:50:00+00:00", n.SLOT_SOURCE_BBV: ["hiv"]}
    moved = merge(old, facts(occurred_at="2026-11-23T14:30:00+00:00"), explicit=True)
    assert moved.set == {n.SLOT_OCCURRED_AT: "2026-11-23T14:30:00+00:00"}
    lowered = merge(old, facts(source_bbv=["none"]), explicit=True)
    assert lowered.set == {} and lowered.confirm[0] == n.SLOT_SOURCE_BBV


def test_an_explicit_lowering_correction_after_the_form_is_applied():
    result = merge({n.SLOT_SOURCE_BBV: ["hiv"]}, facts(source_bbv=["none"]), explicit=True, confirmable=False)
    assert result.set == {n.SLOT_SOURCE_BBV: ["none"]}


def test_a_lowering_change_nobody_can_confirm_is_dropped():
    result = merge({n.SLOT_FLUID: "blood"}, facts(fluid="low_risk"), confirmable=False)
    assert result.set == {} and result.confirm is None


def test_risk_factors_grow_and_none_against_factors_is_asked():
    assert merge({n.SLOT_SOURCE_RISK: ["msm"]}, facts(source_risk=["injecting_drug_use"])).set == {
        n.SLOT_SOURCE_RISK: ["injecting_drug_use", "msm"]}
    assert merge({n.SLOT_SOURCE_RISK: ["msm"]}, facts(source_risk=["none"])).confirm[0] == n.SLOT_SOURCE_RISK


@pytest.mark.parametrize("value,empty", [(None, True), (n.UNKNOWN, True), ([n.UNKNOWN], True),
                                         (["hiv"], False), ("blood", False), (n.NO, False)])
def test_is_empty(value, empty):
    assert is_empty(value) is empty


# -- "might have": a suspicion is kept apart from a known positive (RIDDOR needs knowledge) -----
def test_a_suspicion_becomes_known_when_the_person_learns_it():
    result = merge({n.SLOT_SOURCE_BBV: ["hbv_suspected"]}, facts(source_bbv=["hbv"]))
    assert result.set == {n.SLOT_SOURCE_BBV: ["hbv"]}


def test_a_later_might_have_never_weakens_a_known_positive():
    result = merge({n.SLOT_SOURCE_BBV: ["hbv"]}, facts(source_bbv=["hbv_suspected"]))
    assert result.set == {} and result.confirm is None


def test_a_negative_test_after_a_suspicion_is_confirmed_first():
    result = merge({n.SLOT_SOURCE_BBV: ["hiv_suspected"]}, facts(source_bbv=["hiv_negative"]), confirmable=True)
    assert result.set == {} and result.confirm is not None
