"""actions/names.py and domain.yml must agree, both ways; so must the options the
validators read and the buttons people see (a bare number picks the nth button)."""
from pathlib import Path

import pytest
import yaml

from actions import manager, names, sharps
from actions.forms import Choices

ROOT = Path(__file__).resolve().parents[2]
RASA_SLOTS = {names.SLOT_REQUESTED, names.SLOT_SESSION_METADATA}
# Responses Rasa itself utters by name.
RASA_RESPONSES = {"utter_restart", "utter_default", "utter_ask_rephrase"}


def _constants(prefix):
    return {getattr(names, k) for k in dir(names) if k.startswith(prefix) and isinstance(getattr(names, k), str)}


def _dialogue_actions():
    used = set()
    for path in list((ROOT / "data" / "rules").glob("*.yml")) + list((ROOT / "data" / "stories").glob("*.yml")):
        data = yaml.safe_load(path.read_text())
        for block in data.get("rules", []) + data.get("stories", []):
            for step in block.get("steps", []) + block.get("condition", []):
                if "action" in step:
                    used.add(step["action"])
    return used


def test_intents_match_both_ways(domain):
    assert set(names.INTENTS) == set(domain["intents"])
    assert set(names.INTENTS) == _constants("INTENT_") - {names.INTENT_NLU_FALLBACK}


def test_entities_match_both_ways(domain):
    assert set(names.ENTITIES) == set(domain["entities"]) == _constants("ENTITY_")


def test_slots_match_both_ways(domain):
    assert _constants("SLOT_") - RASA_SLOTS == set(domain["slots"])


def test_forms_and_their_slots(domain):
    assert set(names.FORMS) == set(domain["forms"]) == _constants("FORM_")
    assert domain["forms"][names.FORM_SHARPS]["required_slots"] == list(names.SHARPS_FORM_SLOTS)
    assert domain["forms"][names.FORM_REFERRAL]["required_slots"] == list(names.REFERRAL_FORM_SLOTS)


def test_custom_actions_match_both_ways(domain):
    assert set(names.CUSTOM_ACTIONS) == set(domain["actions"])


def test_every_action_the_dialogue_uses_exists(domain):
    known = set(domain["actions"]) | set(domain["responses"]) | set(domain["forms"]) | {
        names.ACTION_LISTEN, names.ACTION_DEACTIVATE_LOOP, names.ACTION_TWO_STAGE_FALLBACK, names.ACTION_RESTART,
        "utter_manager_faq"}
    assert _dialogue_actions() - known == set()


def test_every_response_constant_exists(domain):
    missing = {r for r in _constants("UTTER_") if r not in domain["responses"]}
    assert missing == {names.UTTER_REASK_PREFIX, names.UTTER_ASK_PREFIX}


def test_every_response_is_used_somewhere(domain):
    form_slots = {s for f in domain["forms"].values() for s in f["required_slots"]}
    reasks = {r for cls in (sharps.ValidateSharpsForm, manager.ValidateReferralForm,
                            manager.ValidateClinicianForm) for r in cls.REASK.values()}
    used = (_constants("UTTER_") | _dialogue_actions() | RASA_RESPONSES | reasks
            | {f"utter_ask_{s}" for s in form_slots} | {f"utter_reask_{s}" for s in form_slots})
    unused = {r for r in domain["responses"] if r not in used and not r.startswith("utter_manager_faq/")}
    assert unused == set()


CHOICE_QUESTIONS = [
    ("utter_ask_exposure_type", sharps.EXPOSURE),
    ("utter_ask_fluid", sharps.FLUID),
    ("utter_ask_source_bbv", sharps.SOURCE_BBV),
    ("utter_ask_source_risk", sharps.SOURCE_RISK),
    ("utter_ask_device_kind", sharps.DEVICE),
    ("utter_ask_injury_deep", sharps.DEPTH),
    ("utter_ask_hbv_status", sharps.HBV),
    ("utter_ask_pregnancy", sharps.PREGNANCY),
    ("utter_ask_referral_reason", manager.REASON),
    ("utter_ask_appointment_type", manager.APPOINTMENT),
    ("utter_ask_urgency_requested", manager.URGENCY),
]


@pytest.mark.parametrize("response,choices", CHOICE_QUESTIONS)
def test_buttons_and_numbered_text_match_the_options(domain, response, choices: Choices):
    variants = domain["responses"][response]
    with_buttons = next(v for v in variants if v.get("buttons"))
    assert [b["title"] for b in with_buttons["buttons"]] == [o.label for o in choices.options]
    assert [b["payload"] for b in with_buttons["buttons"]] == [str(i) for i in range(1, len(choices.options) + 1)]
    numbered = next(v for v in variants if v.get("condition"))
    assert all(f"{i} " in numbered["text"] for i in range(1, len(choices.options) + 1))
    assert f"{len(choices.options) + 1} " not in numbered["text"]


def test_choice_questions_have_sms_variants(domain):
    for response, _ in CHOICE_QUESTIONS:
        conditions = [v.get("condition") for v in domain["responses"][response]]
        assert [{"type": "slot", "name": names.SLOT_NUMBERED_CHOICES, "value": True}] in conditions


def test_labels_cover_every_option(domain):
    labels = domain["responses"][names.UTTER_ANSWER_LABELS][0]["custom"]
    for group, choices in [("exposure_type", sharps.EXPOSURE), ("fluid", sharps.FLUID),
                           ("source_bbv", sharps.SOURCE_BBV), ("source_risk", sharps.SOURCE_RISK),
                           ("device_kind", sharps.DEVICE), ("hbv_status", sharps.HBV),
                           ("pregnancy", sharps.PREGNANCY), ("referral_reason", manager.REASON),
                           ("appointment_type", manager.APPOINTMENT), ("urgency_requested", manager.URGENCY)]:
        assert set(choices.values) <= set(labels[group]), group


def test_the_action_server_registers_exactly_the_domain_actions():
    from rasa_sdk.executor import ActionExecutor

    executor = ActionExecutor()
    executor.register_package("actions")
    assert set(executor.actions) == set(names.CUSTOM_ACTIONS)
