"""Every SMS the helpline can send, counted in segments (api/channels/segments.py).

Each body is built as the SMS channel builds it (api/channels/texts.py sms_body): the bot's
responses (domain.yml and data/responses/*.yml: the variant for slot numbered_choices == true
if there is one, else the default variant, with its buttons numbered), filled with realistic
worst-case values; the API's own texts (HELP, START, the empty-message reply, the safe answers);
and the texts to practitioners (pages, acknowledgements, rota-gap alerts, call-back numbers).

Two checks (docs/sms-segments.md):
- every body is GSM-7: one curly quote, en dash or non-breaking space sends the whole text as
  UCS-2, 70 characters a segment instead of 160, so the same words cost two or three times as much;
- every body is within its kind's segment budget (BUDGET below).

The measured table in docs/sms-segments.md comes from this module:

    PYTHONHASHSEED=0 .venv-api/bin/python -m tests.api.channels.test_sms_responses --table
"""
from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import cache
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml

from api.channels import segments, texts
from api.domain.escalation import page_text
from api.services import safe_answer, views
from api.services.messages import Button, Reply
from api.services.summary import case_summary
from api.triage import decide_sharps, load_sharps_rules

ROOT = Path(__file__).resolve().parents[3]
DOMAIN = ROOT / "domain.yml"
RESPONSE_FILES = sorted((ROOT / "data" / "responses").glob("*.yml"))

# --- the budget ------------------------------------------------------------------------------
# Segments per body, by kind. Every segment is billed as one text, so a 4-segment reply costs
# four times a 1-segment one; and a long text arrives as parts that some handsets show out of
# order, late, or not joined at all, which matters most in a safety message. Each budget is what
# the longest current text of its kind needs (measured: docs/sms-segments.md), and no more:
CONVERSATION = "conversation"  # a question or answer the bot sends in a conversation
FAQ = "faq"  # a manager FAQ answer (data/responses/manager_faq.yml)
READ_BACK = "read-back"  # the person's own answers read back to them
ADVICE = "advice"  # one advice item of the current clinical rules
KEYWORD = "keyword"  # the API's replies to HELP, START and an empty message
PAGE = "page"  # a page to a practitioner
PRACTITIONER = "practitioner"  # the other texts to practitioners
BUDGET: dict[str, int] = {
    # 3 segments (459 characters) hold the longest question with its numbered choices, the
    # crisis answer with all its numbers, the first aid, the privacy notice and the API's safe
    # answers (first aid, 999, A&E, NHS 111 and Samaritans; shortened to fit with this test).
    CONVERSATION: 3,
    # The FAQ answers are reference text for managers, each ending with its source; the four
    # longest need 4 (465 to 507 characters). Trimming them to 3 is a content change for the
    # FAQ's owner; until then the budget holds them where they are.
    FAQ: 4,
    # The sharps report summary and the referral read back before it is sent hold every answer
    # the person gave, names and free text included, so they are as long as the answers: 6
    # segments with every question answered at realistic worst-case lengths (5 for the
    # referral). Each is sent once, and is the person's only chance to check the record.
    READ_BACK: 6,
    # An advice item is clinical text (api/triage/rules, changed only by a new rules version).
    # On SMS all the items of one decision go in one text and are never cut (actions/render.py
    # show_advice), so that text and its sources line are measured (ADVICE_ALL), not budgeted.
    ADVICE: 3,
    # HELP says what the line is, the emergency route, 999 and STOP: 2 segments. START and the
    # empty-message reply are held to 1 (EXCEPTIONS).
    KEYWORD: 2,
    # A page gives the case, its urgency, a summary, the call-back number, how to acknowledge and
    # the case page's address (api/domain/escalation.py page_text promises two segments).
    PAGE: 2,
    # Acknowledgements, rota-gap alerts, call-back numbers: 1 segment, even at their longest.
    PRACTITIONER: 1,
}
ADVICE_ALL = "advice, all items"  # measured and listed, not budgeted (see ADVICE)
# Bodies held to fewer segments than their kind's budget.
EXCEPTIONS: dict[str, int] = {"keyword:START": 1, "keyword:EMPTY": 1}
# Responses never sent by SMS (actions/render.py show_advice sends utter_api_advice_plain and
# utter_api_advice_sources on SMS; utter_api_advice is the web chat's, one item and its source).
NOT_SMS = frozenset({"utter_api_advice"})

# --- realistic worst-case values for the {placeholders} ----------------------------------------
# Longest realistic values, from what the actions pass (actions/render.py, sharps.py, handoff.py,
# manager.py); a test fails on a placeholder that has no value here.
CASE_REF = "SH-000123"  # MA-000045 is the same length
# A page ends with the case page's address (PUBLIC_BASE_URL + /cases/REF): a long NHS host name.
CASE_LINK = "https://occupational-health-helpline.example.nhs.uk/cases/" + CASE_REF
PHONE = "+447700900123"  # E.164, as the API stores a UK mobile
ORGANISATION = "St Mary's Road Surgery and Health Centre"  # 40 characters, a GP practice or pharmacy
PERSON_NAME = "Alexandra Fitzgerald-Brown"  # a full name of 26 characters
WHEN = "14:30 on Wed 31 Dec"  # actions/render.py call_by_text, not today
DATE = "31 Dec 2026, 14:30"  # actions/render.py date_text
FREE_TEXT = {  # what a manager or a reporter types, at a realistic long length
    "employee_name": PERSON_NAME,
    "employee_role": "healthcare assistant and phlebotomist",
    "employee_hours": "4 days a week, 30 hours",
    "absence_history": "3 short absences since June, 2 for back pain",
    "tried": "a phased return, fewer lifting tasks and a chair assessment",
    "questions_for_oh": "Are they fit for their role? What adjustments would help?",
    "adjustments": "no lifting over 10 kg, a shorter day on Fridays",
    "reporter_name": PERSON_NAME,
    "reporter_role": "healthcare assistant",
    "workplace": ORGANISATION,
    "callback_phone": PHONE,
}
# Intents the "did you mean" buttons never offer, and how many they offer (actions/common.py).
NOT_OFFERED = {"nlu_fallback", "out_of_scope", "manager_faq", "inform", "affirm", "deny", "dont_know", "rate",
               "correct_answer", "crisis"}
MAX_AFFIRMATION_OPTIONS = 2
# The answers the sharps summary lists, in order, and the label group each is shown with
# (actions/sharps.py SUMMARY_GROUPS; None is a time, "free_text" the person's own words).
SUMMARY_GROUPS = (
    ("occurred_at", None), ("exposure_type", "exposure_type"), ("fluid", "fluid"), ("fluid_blood", "yes_no"),
    ("source_known", "source_known"), ("source_bbv", "source_bbv"), ("source_risk", "source_risk"),
    ("device_kind", "device_kind"), ("device_used", "yes_no"), ("device_in_vessel", "yes_no"),
    ("visible_blood", "yes_no"), ("injury_deep", "injury_deep"), ("gloves", "yes_no"),
    ("hbv_status", "hbv_status"), ("pregnancy", "pregnancy"), ("reporter_name", "free_text"),
    ("reporter_role", "free_text"), ("workplace", "free_text"), ("callback_phone", "free_text"),
    ("incident_form_done", "yes_no"),
)
# The longest realistic answer to the questions that take more than one ("1 and 3"): a patient
# who might have all three viruses; two risks (more than two is rare).
MULTI = {"source_bbv": ("hiv_suspected", "hbv_suspected", "hcv_suspected"),
         "source_risk": ("injecting_drug_use", "high_prevalence_country")}
# A correction the form asks about (less risky than before, so "shall I change it?"), in the
# person's words: actions/sharps.py change_text.
CHANGE = ("source_bbv", MULTI["source_bbv"], ("none",), "actually the patient tested negative for all of them")
NOW = datetime(2026, 12, 31, 14, 30, tzinfo=timezone.utc)


@dataclass(frozen=True)
class Body:
    name: str
    kind: str
    text: str

    @property
    def budget(self) -> int:
        return EXCEPTIONS.get(self.name, BUDGET[self.kind])


# --- the bot's responses -----------------------------------------------------------------------

@cache
def responses() -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for path in (DOMAIN, *RESPONSE_FILES):
        found.update(yaml.safe_load(path.read_text(encoding="utf-8")).get("responses") or {})
    return found


def labels() -> dict[str, Any]:
    return responses()["utter_answer_labels"][0]["custom"]


def _is_sms(condition: list[dict[str, Any]] | None) -> bool:
    return any(c.get("type") == "slot" and c.get("name") == "numbered_choices" and c.get("value") is True
               for c in condition or [])


def sms_variant(variants: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The variant an SMS conversation gets: numbered_choices == true, else the unconditioned one."""
    for variant in variants:
        if _is_sms(variant.get("condition")):
            return variant
    return next((v for v in variants if not v.get("condition")), None)


def _longest(values: dict[str, str]) -> str:
    return max(values.values(), key=len)


def _answer(group: str, slot: str, value: Any = None) -> str:
    """A stored answer as the summary shows it (actions/render.py label): codes joined by ", "."""
    table = labels()[group]
    if value is None:
        return ", ".join(table[v] for v in MULTI[slot]) if slot in MULTI else _longest(table)
    return ", ".join(table[v] for v in value)


def summary_details() -> str:
    """actions/sharps.py summary_details with every question answered at its longest."""
    table = labels()
    parts = []
    for slot, group in SUMMARY_GROUPS:
        if group is None:
            value = "Mon 23 Nov, 14:40"  # actions/render.py when_text
        elif group == "free_text":
            value = FREE_TEXT[slot]
        else:
            value = _answer(group, slot)
        parts.append(f"{table['fields'][slot]}: {value}")
    return "; ".join(parts)


def correction() -> tuple[str, str]:
    """The longest field label with the longest value its group can show (utter_correction_done)."""
    table = labels()
    pairs = [(table["fields"][slot], _answer(group, slot))
             for slot, group in SUMMARY_GROUPS if group not in (None, "free_text")]
    return max(pairs, key=lambda pair: len(pair[0]) + len(pair[1]))


def change_text() -> str:
    """actions/sharps.py change_text: the earlier answer, their words, the new reading."""
    slot, old, new, words = CHANGE
    group = dict(SUMMARY_GROUPS)[slot]
    return (f"Earlier you told me {labels()['fields'][slot]}: {_answer(group, slot, old)}. "
            f"Just now you said \"{words}\", which sounds like {_answer(group, slot, new)}.")


@cache
def advice_items() -> tuple[Any, ...]:
    """Every advice item of the current sharps rules (the ones the bot says)."""
    found = {a.code: a for rule in load_sharps_rules().rules for a in rule.advice}
    return tuple(found.values())


@cache
def worst_advice() -> tuple[str, str]:
    """The longest SMS advice text a decision gives in one go (actions/render.py show_advice: the
    items joined by a blank line, first aid left out) over the grid of answers that reaches every
    advice item (tests/api/triage/test_advice_reachable.py), and its sources line."""
    from tests.api.triage.test_advice_reachable import NOW as GRID_NOW
    from tests.api.triage.test_advice_reachable import sharps_grid

    rules = load_sharps_rules()
    worst: tuple[Any, ...] = ()
    for answers in sharps_grid():
        items = tuple(a for a in decide_sharps(answers, now=GRID_NOW, ruleset=rules).advice
                      if not a.code.startswith("first_aid_"))
        if sum(len(a.text) + 2 for a in items) > sum(len(a.text) + 2 for a in worst):
            worst = items
    sources = "; ".join(dict.fromkeys(a.source for a in worst if a.source))
    return "\n\n".join(a.text for a in worst), sources


def status_summary() -> str:
    """The API's referral status sentence (api/services/views.py) for its longest status."""
    status = max(views.STATUS_WORDS, key=lambda s: len(views.STATUS_WORDS[s]))
    case = SimpleNamespace(ref="MA-000045", line="manager", status=status, urgency="routine", updated_at=NOW)
    return views.case_status_read(case, now=NOW)["summary"]


def placeholder_values() -> dict[str, str]:
    table = labels()
    field, value = correction()
    advice_text, advice_sources = worst_advice()
    return {
        "case_ref": CASE_REF, "phone": PHONE, "sender_phone": PHONE, "oncall_phone": PHONE,
        "call_by": WHEN, "paged_at": WHEN, "call_from": DATE, "updated": DATE, "when": f"from {DATE}",
        "practitioner": PERSON_NAME,
        "route": _longest(table["route"]), "status": _longest(table["status"]), "summary": status_summary(),
        "details": summary_details(), "field": field, "value": value, "pending_change_text": change_text(),
        "advice_text": advice_text, "advice_sources": advice_sources,
        "organisation_name": ORGANISATION,
        "reason": _longest(table["referral_reason"]), "work_related": _longest(table["yes_no"]),
        "complex": _longest(table["yes_no"]), "absence_start": "30 Nov 2026",  # actions/render.py day_text
        "appointment_type": _longest(table["appointment_type"]),
        "urgency_requested": _longest(table["urgency_requested"]),
        **FREE_TEXT,
    }


_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def fill(text: str, values: dict[str, str]) -> str:
    def one(match: re.Match[str]) -> str:
        if match.group(1) not in values:
            raise KeyError(f"no worst-case value for {{{match.group(1)}}}: add one to placeholder_values()")
        return values[match.group(1)]
    return _PLACEHOLDER.sub(one, text)


def affirmation_buttons() -> list[dict[str, str]]:
    """The longest "did you mean" buttons actions/common.py can add to utter_ask_affirmation."""
    fallback = responses()["utter_fallback_labels"][0]["custom"]
    offered = sorted((k for k in fallback if k not in NOT_OFFERED and k != "something_else"),
                     key=lambda k: len(fallback[k]))[-MAX_AFFIRMATION_OPTIONS:]
    return [{"title": fallback[k], "payload": f"/{k}"} for k in offered] + [
        {"title": fallback["something_else"], "payload": "/out_of_scope"}]


READ_BACKS = frozenset({"utter_sharps_summary", "utter_ask_referral_confirm"})
ALL_ADVICE = frozenset({"utter_api_advice_plain", "utter_api_advice_sources"})
BUTTONS_FROM_ACTIONS = {"utter_ask_affirmation": affirmation_buttons}


def kind_of(name: str) -> str:
    if name in READ_BACKS:
        return READ_BACK
    if name in ALL_ADVICE:
        return ADVICE_ALL
    if name.startswith("utter_manager_faq/"):
        return FAQ
    return CONVERSATION


def sms_responses() -> dict[str, dict[str, Any]]:
    """Each response the bot can send by SMS, as the variant an SMS conversation gets."""
    found = {}
    for name, variants in responses().items():
        variant = sms_variant(variants)
        if variant is not None and "text" in variant and name not in NOT_SMS:
            found[name] = variant  # the rest is data for the actions (utter_answer_labels ...)
    return found


def response_bodies() -> list[Body]:
    values = placeholder_values()
    bodies = []
    for name, variant in sms_responses().items():
        buttons = variant.get("buttons") or (BUTTONS_FROM_ACTIONS[name]() if name in BUTTONS_FROM_ACTIONS else [])
        reply = Reply(fill(variant["text"], values), tuple(Button(b["title"], b["payload"]) for b in buttons))
        bodies.append(Body(name, kind_of(name), texts.sms_body([reply])))
    return bodies


# --- the API's own texts -------------------------------------------------------------------------

def api_bodies() -> list[Body]:
    return [
        Body("keyword:HELP", KEYWORD, texts.HELP_TEXT),
        Body("keyword:START", KEYWORD, texts.START_TEXT),
        Body("keyword:EMPTY", KEYWORD, texts.EMPTY_TEXT),
        Body("api:SAFE_ANSWER", CONVERSATION, safe_answer.SAFE_ANSWER),
        Body("api:SAFE_ANSWER_NOT_PAGED", CONVERSATION, safe_answer.SAFE_ANSWER_NOT_PAGED),
    ]


def advice_bodies() -> list[Body]:
    return [Body(f"advice:{a.code}", ADVICE, a.text) for a in advice_items()]


# --- texts to practitioners ----------------------------------------------------------------------

def _worst_sharps_case() -> SimpleNamespace:
    """The sharps case whose one-line summary (api/services/summary.py) is the longest."""
    best = None
    for exposure in ("percutaneous", "mucocutaneous", "non_intact_skin", "intact_skin", "unknown"):
        for fluid in ("blood", "blood_stained", "high_risk_other", "low_risk"):
            case = SimpleNamespace(
                kind="exposure", line="sharps", ref=CASE_REF, urgency="emergency", contact={"phone": PHONE},
                answers={"exposure_type": exposure, "fluid": fluid,
                         "source": {"identified": True, "hiv": "positive", "hbv": "suspected", "hcv": "positive"}},
                decision={"hours_since_exposure": 167.95, "go_to_emergency_department": True},
            )
            if best is None or len(case_summary(case, now=NOW)) > len(case_summary(best, now=NOW)):
                best = case
    return best


def _manager_case() -> SimpleNamespace:
    return SimpleNamespace(kind="referral", line="manager", ref="MA-000045", urgency="urgent", contact={"phone": PHONE},
                           answers={"reason": "musculoskeletal"}, decision={})


def practitioner_bodies(monkeypatch: pytest.MonkeyPatch | None = None) -> list[Body]:
    """The texts the API and its worker send practitioners, built by the code that sends them."""
    from api.channels.sms import _ack_text
    from api.services import cases, paging

    sharps = _worst_sharps_case()
    bodies = []
    for case in (sharps, _manager_case()):
        summary = case_summary(case, now=NOW)
        bodies.append(Body(f"page:{case.line}", PAGE, page_text(
            ref=case.ref, urgency=case.urgency, summary=summary, callback=case.contact["phone"],
            emergency_department=bool(case.decision.get("go_to_emergency_department")),
            link=CASE_LINK.replace(CASE_REF, case.ref))))
        # the confirmation names the page and repeats the case's summary: a page's budget
        bodies.append(Body(f"ack:{case.line}", PAGE, _ack_text(SimpleNamespace(id=999999, case=case), NOW)))
    no_number = SimpleNamespace(**{**vars(sharps), "contact": {}})
    bodies.append(Body("ack:sharps, no number", PAGE,
                       _ack_text(SimpleNamespace(id=999999, case=no_number), NOW)))
    crisis = SimpleNamespace(kind="crisis", line="sharps", ref=CASE_REF, urgency="emergency", contact={},
                             answers={}, decision={})
    bodies.append(Body("page:crisis, no number", PAGE, page_text(
        ref=crisis.ref, urgency=crisis.urgency, summary=case_summary(crisis, now=NOW), callback=None,
        emergency_department=True, link=CASE_LINK)))

    # The inline texts (rota gap, call-back number, "asked to talk to a person"), captured as queued.
    sent: list[tuple[str, str]] = []
    patch = monkeypatch or pytest.MonkeyPatch()
    try:
        def enqueue(session: Any, *, to: str, body: str, now: datetime, page_id: int | None = None) -> None:
            sent.append((to, body))
        patch.setattr(paging.outbox, "enqueue_sms", enqueue)
        patch.setattr(paging.audit, "log_event", lambda *a, **k: None)
        lead = SimpleNamespace(id=1, name=PERSON_NAME, mobile=PHONE)
        paging._alert_rota_gap(None, sharps, (lead,), now=NOW)
        bodies.append(Body("alert:rota gap", PRACTITIONER, sent.pop()[1]))
        holder = SimpleNamespace(status="acknowledged", practitioner=lead)
        sharps.pages = [holder]
        cases._tell_paged_about_number(None, sharps, PHONE, now=NOW)
        bodies.append(Body("text:call-back number", PRACTITIONER, sent.pop()[1]))
        sharps.status = "acknowledged"
        cases.request_person(None, sharps, words="talk to a person", actor="bot", now=NOW, settings=None)
        bodies.append(Body("text:asked for a person", PRACTITIONER, sent.pop()[1]))
    finally:
        if monkeypatch is None:
            patch.undo()
    return bodies


def all_bodies(monkeypatch: pytest.MonkeyPatch | None = None) -> list[Body]:
    return response_bodies() + api_bodies() + advice_bodies() + practitioner_bodies(monkeypatch)


# --- the tests -----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def bodies() -> list[Body]:
    with pytest.MonkeyPatch.context() as patch:
        return all_bodies(patch)


def test_every_response_is_measured(bodies):
    names = {b.name for b in bodies}
    assert set(sms_responses()) <= names
    assert len(sms_responses()) > 150  # domain.yml and the manager FAQ answers were read
    assert {"keyword:HELP", "api:SAFE_ANSWER_NOT_PAGED", "page:sharps", "alert:rota gap"} <= names
    assert all(b.kind in BUDGET or b.kind == ADVICE_ALL for b in bodies)


def test_every_sms_body_is_gsm7(bodies):
    bad = {b.name: segments.non_gsm(b.text) for b in bodies if segments.non_gsm(b.text)}
    assert not bad, (
        "these SMS texts have characters outside GSM-7, which send the whole text as UCS-2 (70 characters "
        f"a segment instead of 160): {bad}. Use straight quotes ' and \", a hyphen for a dash, a plain space.")


def test_every_advice_source_is_gsm7():
    bad = {a.code: segments.non_gsm(a.source) for a in advice_items() if segments.non_gsm(a.source)}
    assert not bad, f"advice sources outside GSM-7 (sent in the SMS sources line): {bad}"


def test_every_sms_body_is_within_its_budget(bodies):
    over = [f"{b.name} ({b.kind}): {segments.segments(b.text)} segments, {len(b.text)} characters, "
            f"budget {b.budget}" for b in bodies if b.kind in BUDGET and segments.segments(b.text) > b.budget]
    assert not over, "over the SMS segment budget (docs/sms-segments.md):\n" + "\n".join(over)


def test_no_placeholder_is_left_unfilled(bodies):
    left = {b.name: _PLACEHOLDER.findall(b.text) for b in bodies if _PLACEHOLDER.search(b.text)}
    assert not left


# --- the table -----------------------------------------------------------------------------------

def table(count: int = 10) -> str:
    """Markdown: the budget by kind with its longest text, then the `count` longest budgeted SMS
    bodies (characters, segments), then the advice texts that are measured but not budgeted."""
    every = sorted(all_bodies(), key=lambda b: (-segments.segments(b.text), -len(b.text), b.name))
    lines = ["| kind | texts | budget | longest (segments) |", "| --- | ---: | ---: | --- |"]
    for kind, budget in BUDGET.items():
        mine = [b for b in every if b.kind == kind]
        lines.append(f"| {kind} | {len(mine)} | {budget} | `{mine[0].name}` ({segments.segments(mine[0].text)}) |")
    lines += ["", "| SMS body | kind | characters | segments | budget |", "| --- | --- | ---: | ---: | ---: |"]
    lines += [f"| `{b.name}` | {b.kind} | {len(b.text)} | {segments.segments(b.text)} | {b.budget} |"
              for b in [b for b in every if b.kind in BUDGET][:count]]
    lines += [f"| `{b.name}` | {b.kind} | {len(b.text)} | {segments.segments(b.text)} | none |"
              for b in every if b.kind not in BUDGET]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--table", action="store_true", help="print the 10 longest SMS bodies as a Markdown table")
    parser.add_argument("--all", action="store_true", help="print every SMS body with its size")
    args = parser.parse_args(argv)
    if args.all:
        for b in sorted(all_bodies(), key=lambda b: (-len(b.text), b.name)):
            print(f"{len(b.text):5} {segments.segments(b.text):2} {segments.encoding(b.text)} {b.kind:12} {b.name}")
        return 0
    print(table())
    return 0


if __name__ == "__main__":
    sys.exit(main())
