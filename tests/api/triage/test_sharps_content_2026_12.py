"""The clinical content of sharps-2026.12.1 (GitHub issue #12): hepatitis B by the Green Book
table, RIDDOR only for a known infected source, the human bite pathway, sources named."""
from __future__ import annotations

import pytest

from api.triage import decide_sharps, load_sharps_rules
from api.triage.facts import derive_sharps_facts
from tests.api.triage.test_sharps_rules import DELETE, NOW, ago, codes, decide, low_risk_case

VERSION = "sharps-2026.12.1"


def test_the_new_version_is_current():
    assert load_sharps_rules().version == VERSION
    assert decide({})["rule_version"] == VERSION


def hbv_codes(decision: dict) -> list[str]:
    return [c for c in codes(decision) if c.startswith(("hbig", "hbv"))]


# --- hepatitis B: the UKHSA Green Book chapter 18 post-exposure table ----------------

VACCINE = "hbv_vaccine_urgent"
BOOSTER = "hbv_booster_check"
SECOND_HBIG = "hbig_second_dose_non_responder"

GREEN_BOOK = [
    # (exposed person, source HBsAg, advice codes, within 48 hours)
    ("unvaccinated", "positive", ["hbig_within_48h", VACCINE]),
    ("unvaccinated", "unknown", [VACCINE]),  # accelerated course, no HBIG
    ("unvaccinated", "negative", ["hbv_course_negative_source"]),
    ("partial", "positive", ["hbig_within_48h", VACCINE]),  # read as at most one dose, to be safe
    ("partial", "unknown", [VACCINE]),
    ("partial", "negative", ["hbv_course_negative_source"]),
    ("unknown", "positive", ["hbig_within_48h", VACCINE]),  # unknown history: treated as unprotected
    ("unknown", "unknown", [VACCINE]),
    ("unknown", "negative", ["hbv_course_negative_source"]),
    ("non_responder", "positive", ["hbig_within_48h", SECOND_HBIG]),
    ("non_responder", "unknown", ["hbig_non_responder_within_48h", SECOND_HBIG]),  # the gap issue #12 closes
    ("non_responder", "negative", ["hbv_non_responder_negative_source"]),  # no HBIG
    ("responder", "positive", [BOOSTER]),
    ("responder", "unknown", [BOOSTER]),
    ("responder", "negative", [BOOSTER]),
]


@pytest.mark.parametrize("recipient, source, expected", GREEN_BOOK, ids=[f"{r}-{s}" for r, s, _ in GREEN_BOOK])
def test_hepatitis_b_follows_the_green_book_table(recipient, source, expected):
    decision = decide(low_risk_case(source__hbv=source, recipient__hbv_status=recipient))
    assert hbv_codes(decision) == expected
    assert decision["urgency"] == "urgent" and decision["page_on_call"]
    for advice in decision["advice"]:
        if advice["code"] in expected:
            assert "Green Book chapter 18" in advice["source"]


def test_a_known_non_responder_with_an_unknown_source_gets_hbig():
    decision = decide(low_risk_case(source__hbv="unknown", recipient__hbv_status="non_responder"))
    assert "hbig_non_responder_unknown_source" in decision["rules_fired"]
    text = " ".join(a["text"] for a in decision["advice"] if a["code"].startswith("hbig"))
    assert "immunoglobulin (HBIG)" in text and "48 hours" in text
    assert "second dose of HBIG one month" in text and "booster" in text


@pytest.mark.parametrize("source", [{"hbv": "unknown"}, {"hbv": DELETE}, {"identified": False, "hbv": "negative"}])
def test_a_non_responder_gets_hbig_whenever_the_source_is_not_known_negative(source):
    changes = {f"source__{k}": v for k, v in source.items()}
    decision = decide(low_risk_case(recipient__hbv_status="non_responder", **changes))
    assert "hbig_non_responder_within_48h" in codes(decision)


@pytest.mark.parametrize(
    "occurred_at, expected",
    [
        (ago(48), ["hbig_non_responder_within_48h", SECOND_HBIG]),
        (ago(48, 1), ["hbig_non_responder_48h_to_7d", SECOND_HBIG]),
        (ago(168), ["hbig_non_responder_48h_to_7d", SECOND_HBIG]),
        (ago(168, 1), ["hbig_non_responder_window_passed"]),
        (None, ["hbig_non_responder_time_unknown", SECOND_HBIG]),
    ],
)
def test_non_responder_unknown_source_hbig_time_boundaries(occurred_at, expected):
    decision = decide(low_risk_case(source__hbv="unknown", recipient__hbv_status="non_responder",
                                    occurred_at=occurred_at))
    assert hbv_codes(decision) == expected


@pytest.mark.parametrize("recipient", ["unvaccinated", "partial", "unknown", "non_responder", "responder"])
def test_no_hbig_for_a_negative_source(recipient):
    decision = decide(low_risk_case(source__hbv="negative", recipient__hbv_status=recipient))
    assert not [c for c in codes(decision) if c.startswith("hbig")]
    assert not {"hbig", "hbig_non_responder_unknown_source"} & set(decision["rules_fired"])
    if recipient != "responder":
        said = next(a["text"] for a in decision["advice"] if a["code"].endswith("negative_source"))
        assert "don't need hepatitis B immunoglobulin (HBIG)" in said


def test_no_hepatitis_b_advice_without_a_significant_exposure():
    for recipient in ("non_responder", "unvaccinated", "responder"):
        for source in ("positive", "unknown", "negative"):
            decision = decide(low_risk_case(exposure_type="intact_skin", source__hbv=source,
                                            recipient__hbv_status=recipient))
            assert hbv_codes(decision) == [] and decision["urgency"] == "routine"


def test_the_old_version_still_decides_as_it_did():
    # A case decided under sharps-2026.11.1 can still be explained by it: there, a
    # non-responder with an unknown source got the vaccine line and no HBIG.
    answers = low_risk_case(source__hbv="unknown", recipient__hbv_status="non_responder")
    old = decide_sharps(answers, now=NOW, ruleset=load_sharps_rules("sharps-2026.11.1")).to_dict()
    assert old["rule_version"] == "sharps-2026.11.1"
    assert hbv_codes(old) == ["hbv_vaccine_urgent"]


# --- RIDDOR: only a source KNOWN to carry a blood-borne virus ----------------------------

MUST_REPORT = "riddor_dangerous_occurrence"
DECIDES_LATER = "riddor_when_source_known"


@pytest.mark.parametrize(
    "changes, expected",
    [
        ({"source__hiv": "positive"}, MUST_REPORT),
        ({"source__hbv": "positive", "source__identified": None}, MUST_REPORT),
        ({"source__hcv": "positive", "exposure_type": "unknown"}, MUST_REPORT),
        ({"source__hiv": "unknown", "source__risk_factors": ["injecting_drug_use"]}, DECIDES_LATER),  # suspected
        ({"source__hbv": "suspected"}, DECIDES_LATER),  # "the patient might have hep B"
        ({"source__hiv": "suspected"}, DECIDES_LATER),
        ({"source__hiv": "unknown", "source__risk_factors": ["known_viraemic"]}, DECIDES_LATER),  # a risk factor
        ({"source__hiv": "unknown", "source__hbv": "unknown", "source__hcv": "unknown"}, DECIDES_LATER),
        ({"source": {"identified": False}}, DECIDES_LATER),  # a found needle
        ({"source__identified": False, "source__hiv": "positive"}, DECIDES_LATER),  # said, but no known source
        ({"source": DELETE}, DECIDES_LATER),
        ({}, None),  # known negative for all three: nothing to decide
        ({"source__hiv": "positive", "exposure_type": "intact_skin"}, None),  # not a significant exposure
        ({"source__hiv": "positive", "device__used": False}, None),  # a clean sharp
    ],
)
def test_riddor_must_report_only_for_a_known_positive_source(changes, expected):
    decision = decide(low_risk_case(**changes))
    riddor = [c for c in codes(decision) if c.startswith("riddor")]
    assert riddor == ([expected] if expected else [])
    must = [a["text"] for a in decision["advice"] if "must report" in a["text"]]
    assert bool(must) is (expected == MUST_REPORT)
    for advice in decision["advice"]:
        if advice["code"].startswith("riddor"):
            assert "RIDDOR" in advice["source"]


def test_known_bbv_positive_source_fact():
    def fact(**changes):
        facts = derive_sharps_facts(low_risk_case(**changes), now=NOW)
        return facts.known_bbv_positive_source, facts.source_bbv_status

    assert fact(source__hiv="positive") == (True, "known_positive")
    assert fact() == (False, "known_negative")
    assert fact(source__hiv="unknown", source__risk_factors=["known_viraemic"]) == (False, "not_known")
    assert fact(source__identified=False, source__hcv="positive") == (False, "not_known")
    # Triage still believes the risk factor: only the legal claim waits for knowledge.
    assert derive_sharps_facts(low_risk_case(source__hiv="unknown", source__risk_factors=["known_viraemic"]),
                               now=NOW).hiv_risk == "positive"


# --- human bites (NICE NG184) --------------------------------------------------------

def bite(**device) -> dict:
    """A human bite as the bot sends it (actions/sharps.py sharps_answers): kind other, bite true."""
    return {"exposure_type": "percutaneous", "device": {"kind": "other", "bite": True, **device},
            "occurred_at": ago(1)}


@pytest.mark.parametrize(
    "answers, antibiotics",
    [
        ({**bite(), "fluid": "blood"}, "bite_antibiotics_offer"),
        (bite(deep=True), "bite_antibiotics_offer"),
        ({**bite(deep=False), "fluid": "low_risk"}, "bite_antibiotics_consider"),  # saliva, no blood
        (bite(deep=False), "bite_antibiotics_consider"),
        (bite(), "bite_antibiotics_assess"),
        ({**bite(), "fluid": "low_risk"}, "bite_antibiotics_assess"),
        ({**bite(), "exposure_type": "unknown"}, "bite_antibiotics_assess"),
        ({"device": {"bite": True}}, "bite_antibiotics_assess"),  # nothing else known
        ({**bite(), "exposure_type": "non_intact_skin", "fluid": "blood"}, "bite_antibiotics_offer"),
    ],
)
def test_a_bite_through_the_skin_is_urgent_with_antibiotics_tetanus_and_both_ways(answers, antibiotics):
    decision = decide(answers)
    assert decision["urgency"] == "urgent" and decision["page_on_call"] and not decision["go_to_emergency_department"]
    assert "human_bite" in decision["rules_fired"] and "not_significant" not in decision["rules_fired"]
    said = [c for c in codes(decision) if not c.startswith("first_aid_")]
    # Right after first aid come the bite's own items (a short reply may carry only the first few).
    assert said[:3] == [antibiotics, "bite_bbv_both_ways", "bite_tetanus"]
    assert [c for c in said if c.startswith("bite_antibiotics")] == [antibiotics]
    by_code = {a["code"]: a for a in decision["advice"]}
    assert "today" in by_code[antibiotics]["text"]
    assert "person who bit you" in by_code["bite_bbv_both_ways"]["text"]
    assert "tetanus" in by_code["bite_tetanus"]["text"]
    for code in (antibiotics, "bite_bbv_both_ways", "bite_tetanus", "bite_wound_watch"):
        assert "NICE NG184" in by_code[code]["source"]
    recommendation = {"bite_antibiotics_offer": "1.1.5", "bite_antibiotics_consider": "1.1.6",
                      "bite_antibiotics_assess": "1.1.5 and 1.1.6"}[antibiotics]
    assert recommendation in by_code[antibiotics]["source"]


def test_the_consider_line_names_the_high_risk_areas_and_people():
    decision = decide(bite(deep=False))
    text = next(a for a in decision["advice"] if a["code"] == "bite_antibiotics_consider")
    for words in ("hand", "foot", "face", "genitals", "cartilage", "poor circulation", "serious wound infection"):
        assert words in text["text"]
    assert "1.1.6" in text["source"]


def test_a_bite_is_never_routine_even_with_saliva_only_or_a_known_negative_source():
    answers = {**bite(deep=False), "fluid": "low_risk",
               "source": {"identified": True, "hiv": "negative", "hbv": "negative", "hcv": "negative",
                          "risk_factors": []},
               "recipient": {"hbv_status": "responder"}}
    decision = decide(answers)
    assert decision["urgency"] == "urgent" and decision["page_on_call"]
    assert derive_sharps_facts(answers, now=NOW).exposure == "significant"
    # Teeth are never a clean sharp, whatever "used" says.
    assert decide({**bite(used=False), "fluid": "low_risk"})["urgency"] == "urgent"


def test_a_bite_from_an_hiv_positive_person_sends_the_bitten_person_to_a_and_e():
    decision = decide({**bite(), "source": {"identified": True, "hiv": "positive"}})
    assert decision["urgency"] == "emergency" and decision["go_to_emergency_department"]
    assert {"hiv_pep", "human_bite"} <= set(decision["rules_fired"])
    assert "riddor_dangerous_occurrence" in codes(decision)


def test_a_bite_that_did_not_break_the_skin_needs_no_antibiotics():
    decision = decide({**bite(), "exposure_type": "intact_skin"})
    assert decision["urgency"] == "routine" and "human_bite" not in decision["rules_fired"]
    advice = next(a for a in decision["advice"] if a["code"] == "bite_skin_not_broken")
    assert "doesn't need antibiotics" in advice["text"] and "1.1.4" in advice["source"]
    assert not [c for c in codes(decision) if c.startswith("bite_antibiotics")]


@pytest.mark.parametrize(
    "answers, value",
    [
        (low_risk_case(), "none"),
        ({**bite(), "fluid": "blood"}, "drew_blood"),
        (bite(visible_blood=True), "drew_blood"),
        (bite(deep=False), "no_blood"),
        ({**bite(deep=False), "fluid": "blood_stained"}, "drew_blood"),  # blood outranks "shallow"
        (bite(), "blood_unknown"),
        ({**bite(), "exposure_type": "intact_skin"}, "skin_not_broken"),
        ({"device": {"bite": "true"}}, "none"),  # only a real boolean counts
        ({"device": {"bite": False}}, "none"),
    ],
)
def test_bite_fact(answers, value):
    assert derive_sharps_facts(answers, now=NOW).bite == value


# --- every advice item names its source ------------------------------------------------

OFFICIAL_SOURCES = ("BHIVA/BASHH", "UKHSA Green Book", "NICE NG184", "HSE", "Sharp Instruments in Healthcare",
                    "RIDDOR", "Helpline triage policy")


def test_every_advice_item_of_the_current_sharps_file_names_its_source():
    for rule in load_sharps_rules().rules:
        for advice in rule.advice:
            assert any(name in advice.source for name in OFFICIAL_SOURCES), (rule.id, advice.code, advice.source)


# --- "might have": triaged like a positive, never a known positive -------------------------

def test_a_source_who_might_have_hepatitis_b_is_triaged_as_positive_without_the_riddor_duty():
    decision = decide(low_risk_case(source__hbv="suspected", recipient__hbv_status="unvaccinated"))
    assert decision["urgency"] == "urgent"
    assert "hbig_within_48h" in codes(decision)  # the safer mistake: believe the suspicion
    assert "riddor_dangerous_occurrence" not in codes(decision)
    facts = derive_sharps_facts(low_risk_case(source__hbv="suspected"), now=NOW)
    assert facts.hbv_risk == "positive" and facts.known_bbv_positive_source is False


def test_a_source_who_might_have_hiv_still_means_a_and_e():
    decision = decide(low_risk_case(source__hiv="suspected"))
    assert decision["urgency"] == "emergency" and decision["go_to_emergency_department"] is True
    assert "riddor_dangerous_occurrence" not in codes(decision)

