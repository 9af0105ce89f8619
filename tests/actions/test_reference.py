""""What's my reference?": action_say_reference, its rules and its NLU examples."""
from pathlib import Path

import pytest
import yaml

from actions import names as n
from actions.reference import ActionSayReference
from tests.actions.builders import make_tracker, responses, user_event

ROOT = Path(__file__).resolve().parents[2]
ASK = "what's my case number"


async def test_says_the_reference_the_conversation_was_given(dispatcher, domain):
    tracker = make_tracker(text=ASK, intent=n.INTENT_ASK_REFERENCE, slots={n.SLOT_CASE_REF: "SH-000123"})
    events = await ActionSayReference().run(dispatcher, tracker, domain)
    assert events == []
    assert dispatcher.messages[0]["response"] == n.UTTER_YOUR_REFERENCE
    assert dispatcher.messages[0]["case_ref"] == "SH-000123"


async def test_no_reference_yet_is_said_so_never_guessed(dispatcher, domain):
    await ActionSayReference().run(dispatcher, make_tracker(text="reference?", intent=n.INTENT_ASK_REFERENCE), domain)
    assert responses(dispatcher) == [n.UTTER_NO_REFERENCE_YET]


async def test_a_report_waiting_to_be_sent_has_no_reference_yet(dispatcher, domain):
    # The API was down: the answers wait in pending_sync and no reference exists yet.
    tracker = make_tracker(text="what was the ref again", intent=n.INTENT_ASK_REFERENCE,
                           slots={n.SLOT_PENDING_SYNC: {"sharps": {"payload": {}}}})
    await ActionSayReference().run(dispatcher, tracker, domain)
    assert responses(dispatcher) == [n.UTTER_NO_REFERENCE_YET]


@pytest.mark.parametrize("form,requested,ref", [
    (n.FORM_SHARPS, n.SLOT_SOURCE_BBV, "SH-000123"),
    (n.FORM_REFERRAL, n.SLOT_EMPLOYEE_ROLE, "MA-000045"),
])
async def test_mid_form_it_answers_and_leaves_the_form_and_its_question_alone(dispatcher, domain, form,
                                                                              requested, ref):
    tracker = make_tracker(text="can you repeat my case reference", intent=n.INTENT_ASK_REFERENCE,
                           active_loop=form, slots={n.SLOT_CASE_REF: ref, n.SLOT_REQUESTED: requested},
                           events=[user_event("needlestick", n.INTENT_REPORT_SHARPS_INJURY)])
    events = await ActionSayReference().run(dispatcher, tracker, domain)
    assert events == []  # no slot touched, the form stays active and asks its question again
    assert [(m["response"], m.get("case_ref")) for m in dispatcher.messages] == [(n.UTTER_YOUR_REFERENCE, ref)]


def test_the_responses_exist_and_carry_the_reference(domain):
    said = domain["responses"][n.UTTER_YOUR_REFERENCE][0]["text"]
    assert "{case_ref}" in said
    assert "{" not in domain["responses"][n.UTTER_NO_REFERENCE_YET][0]["text"]


def _rules():
    return yaml.safe_load((ROOT / "data/rules/reference.yml").read_text())["rules"]


def test_a_rule_says_it_anywhere():
    anywhere = [r for r in _rules() if not r.get("condition")]
    assert [r["steps"] for r in anywhere] == [[{"intent": n.INTENT_ASK_REFERENCE},
                                              {"action": n.ACTION_SAY_REFERENCE}]]


@pytest.mark.parametrize("form", [n.FORM_SHARPS, n.FORM_REFERRAL])
def test_a_form_carries_on_after_the_reference_like_the_other_interruptions(form):
    (rule,) = [r for r in _rules() if r.get("condition") == [{"active_loop": form}]]
    assert rule["steps"] == [{"intent": n.INTENT_ASK_REFERENCE}, {"action": n.ACTION_SAY_REFERENCE},
                             {"action": form}, {"active_loop": form}]
    # The same shape as the form's own interruption rules (e.g. privacy).
    flow = "sharps" if form == n.FORM_SHARPS else "manager"
    others = yaml.safe_load((ROOT / f"data/rules/{flow}.yml").read_text())["rules"]
    privacy = next(r for r in others if r.get("condition") == [{"active_loop": form}]
                   and r["steps"][0] == {"intent": n.INTENT_PRIVACY})
    assert [list(s) for s in privacy["steps"]] == [list(s) for s in rule["steps"]]
    assert privacy["steps"][2:] == rule["steps"][2:]


def test_the_nlu_examples_cover_the_ways_people_ask():
    data = yaml.safe_load((ROOT / "data/nlu/reference.yml").read_text())["nlu"]
    (block,) = [b for b in data if b.get("intent") == n.INTENT_ASK_REFERENCE]
    examples = [line[2:].strip() for line in block["examples"].splitlines() if line.strip()]
    for phrase in ("what's my case number", "reference?", "what was the ref again",
                   "can you repeat my case reference"):
        assert phrase in examples
    assert len(examples) == len(set(examples)) >= 15


# Mid-form, the form must not take the question as its answer: then Rasa rejects the form
# and the rule above runs (ask_reference is a soft interruption with its own cue words in
# actions/forms.py).
@pytest.mark.parametrize("text,requested", [
    ("what's my case number", n.SLOT_REPORTER_NAME),   # free text
    ("reference?", n.SLOT_PREGNANCY),                  # a choice
])
async def test_the_sharps_form_does_not_take_the_question_as_an_answer(api, dispatcher, domain, text, requested):
    from actions.sharps import ValidateSharpsForm
    from tests.actions.builders import form_turn
    from tests.actions.test_sharps import ANSWERED

    tracker = form_turn(n.FORM_SHARPS, text=text, intent=n.INTENT_ASK_REFERENCE, slots=ANSWERED,
                        requested=requested)
    events = await ValidateSharpsForm().run(dispatcher, tracker, domain)
    assert [e["name"] for e in events] == [n.SLOT_REQUESTED]
    assert responses(dispatcher) == [] and api.calls.call_count == 0


async def test_the_referral_form_does_not_take_the_question_as_an_answer(dispatcher, domain):
    from actions.manager import ValidateReferralForm
    from tests.actions.builders import form_turn, slot_events

    tracker = form_turn(n.FORM_REFERRAL, text="what was the ref again", intent=n.INTENT_ASK_REFERENCE,
                        slots={n.SLOT_REFERRAL_CONSENT: "yes"}, requested=n.SLOT_TRIED)
    events = await ValidateReferralForm().run(dispatcher, tracker, domain)
    assert n.SLOT_TRIED not in slot_events(events)
