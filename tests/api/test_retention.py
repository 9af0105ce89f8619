"""Retention: 18 months after closure, personal details and transcripts go; anonymised figures stay."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from api import retention as retention_cli
from api.models import Case, CaseEvent, ConversationMessage, OutboxMessage, Page
from api.services import audit, casework, identities, retention
from api.services import cases as case_service
from tests.api.conftest import T0
from tests.api.factories import HIV_NEEDLESTICK, organisation, standard_rota

PHONE = "+447700900555"
DAYS = 548


def _message(session, cid: str, text: str, at, direction: str = "inbound", reply_to=None) -> ConversationMessage:
    m = ConversationMessage(conversation_id=cid, channel="sms", direction=direction, text=text, status="relayed",
                            details={"twiml": f"<Response>{text}</Response>"}, created_at=at, reply_to_id=reply_to)
    session.add(m)
    session.flush()
    return m


@pytest.fixture
def world(session, settings, clock):
    """An SMS sharps case (closed at T0) with a transcript, notes, a call-back, a rating and a page;
    a manager referral with free text (closed at T0); a case closed later; and an old chat that never
    became a case."""
    standard_rota(session, now=clock.now)
    organisation(session, "Y00001", now=clock.now)
    cid = identities.sms_conversation_id(settings.session_secret, PHONE)
    first = _message(session, cid, "Sam here, stabbed myself with a needle", clock.now - timedelta(minutes=5))
    _message(session, cid, "Sorry to hear that, Sam.", clock.now - timedelta(minutes=5), "outbound", first.id)
    sharps = case_service.create(session, data={
        "line": "sharps", "channel": "sms", "conversation_id": cid, "organisation_code": "Y00001",
        "contact": {"name": "Sam Smith", "phone": PHONE, "role": "practice nurse"},
        "answers": {**HIV_NEEDLESTICK, "occurred_at": (T0 - timedelta(hours=1)).isoformat(),
                    "recipient": {"hbv_status": "responder", "pregnant": True, "medicines": "sertraline"},
                    "workplace": "gp_practice", "notes": "Sam said her manager Jo saw it"},
        "summary": "Sam Smith, needlestick at Riverside"}, now=clock.now, settings=settings)
    case_service.add_note(session, sharps, note="Spoke to Sam on 07700 900555", actor="Alex Primary", now=clock.now)
    case_service.add_note(session, sharps, note="end-of-conversation rating", actor="bot", now=clock.now, rating=4)
    casework.record_callback(session, sharps, result="reached", note="Sam is at ED", actor="Alex", now=clock.now)
    paging_ack = sharps.pages[0]
    from api.services import paging

    paging.acknowledge(session, paging_ack.id, now=clock.now + timedelta(minutes=3), by="Alex Primary")
    casework.close(session, sharps, outcome="pep_started", follow_up_on=None, note="Sam started PEP at 15:10",
                   actor="Alex", now=clock.now + timedelta(hours=2), today=(clock.now + timedelta(hours=2)).date())

    referral = case_service.create(session, data={
        "line": "manager", "kind": "referral", "channel": "web", "organisation_code": "Y00001",
        "contact": {"name": "Mo Manager", "phone": "+447700900777"},
        "answers": {"employee_name": "Pat Patient", "employee_role": "receptionist", "consent": True,
                    "consent_reason_explained": True, "reason": "mental_health", "absence_history": "off 3 weeks",
                    "questions": "Is Pat fit for nights?", "complex": False, "appointment_type": "phone"}},
        now=clock.now, settings=settings)
    case_service.change_status(session, referral, status="closed", actor="api", now=clock.now + timedelta(hours=2),
                               outcome="advice_only")

    recent = case_service.create(session, data={"line": "sharps", "contact": {"name": "Kim", "phone": "+447700900888"},
                                                "summary": "Kim"}, now=clock.now, settings=settings)
    case_service.change_status(session, recent, status="closed", actor="api",
                               now=clock.now + timedelta(days=200), outcome="advice_only")

    _message(session, "web-" + "a" * 32, "just a question about my sick note", clock.now - timedelta(days=1))
    session.commit()
    return {"sharps": sharps.ref, "referral": referral.ref, "recent": recent.ref, "cid": cid}


def _case(session, ref) -> Case:
    session.expire_all()
    return session.scalar(select(Case).where(Case.ref == ref))


def test_nothing_is_removed_before_the_period_ends(session, world, clock):
    report = retention.apply(session, now=clock.now + timedelta(days=DAYS), days=DAYS)  # closed 2 h short of it
    session.commit()
    assert report.cases == []
    assert report.messages_deleted == 1  # only the chat that never became a case, a day older
    assert _case(session, world["sharps"]).contact["name"] == "Sam Smith"
    assert len(list(session.scalars(select(ConversationMessage).where(
        ConversationMessage.conversation_id == world["cid"])))) == 2


def test_closed_cases_keep_figures_and_lose_personal_data(session, world, clock):
    later = clock.now + timedelta(days=DAYS, hours=3)
    before = {p.id: (p.tier, p.sent_at, p.acknowledged_at) for p in _case(session, world["sharps"]).pages}
    report = retention.apply(session, now=later, days=DAYS)
    session.commit()
    assert sorted(report.cases) == sorted([world["sharps"], world["referral"]])
    assert report.messages_deleted == 3  # the SMS transcript (2) and the old web chat (1)

    sharps = _case(session, world["sharps"])
    assert sharps.contact == {} and sharps.summary is None and sharps.conversation_id is None
    assert sharps.answers == {
        "exposure_type": "percutaneous", "fluid": "blood", "occurred_at": (T0 - timedelta(hours=1)).isoformat(),
        "device": {"kind": "hollow_bore_needle", "used": True, "visible_blood": True},
        "source": {"identified": True, "hiv": "positive"}, "recipient": {"hbv_status": "responder"},
        "workplace": "gp_practice"}
    # Figures kept: line, kind, channel, status, urgency, organisation, times, rules, outcome, pages.
    assert (sharps.line, sharps.kind, sharps.channel, sharps.status, sharps.urgency) == \
        ("sharps", "exposure", "sms", "closed", "emergency")
    assert sharps.organisation.code == "Y00001" and sharps.outcome == "pep_started"
    assert sharps.rule_version == sharps.decision["rule_version"] and sharps.decision["rules_fired"]
    assert sharps.closed_at == clock.now + timedelta(hours=2) and sharps.created_at == clock.now
    assert {p.id: (p.tier, p.sent_at, p.acknowledged_at) for p in sharps.pages} == before
    assert session.scalar(select(func.count()).select_from(ConversationMessage)) == 0

    events = audit.events_for(session, sharps)
    dump = json.dumps([[e.description, e.details] for e in events])
    for secret in ("Sam", "07700", "900555", "sertraline", "Jo saw", "at ED", "15:10", "Riverside"):
        assert secret not in dump, secret
    rating = next(e for e in events if e.type == "rating")
    assert rating.details == {"score": 4}
    created = next(e for e in events if e.type == "case_created")
    assert created.details["answers"]["exposure_type"] == "percutaneous"
    assert next(e for e in events if e.type == "status_changed").details["to"]  # coded details stay
    applied = events[-1]
    assert applied.type == "retention_applied" and applied.actor == "retention"
    assert applied.details["messages_deleted"] == 2 and applied.details["days_after_closure"] == DAYS
    assert applied.details["events_redacted"] >= 4 and applied.details["texts_redacted"] == 1

    texts = list(session.scalars(select(OutboxMessage).where(OutboxMessage.page_id.in_(
        select(Page.id).where(Page.case_id == sharps.id)))))
    assert texts and all(t.body == retention.REMOVED for t in texts)

    referral = _case(session, world["referral"])
    assert referral.answers == {"consent": True, "consent_reason_explained": True, "reason": "mental_health",
                                "complex": False, "appointment_type": "phone"}
    assert "Pat" not in json.dumps([e.details for e in audit.events_for(session, referral)])

    recent = _case(session, world["recent"])
    assert recent.contact["name"] == "Kim" and recent.summary == "Kim"


def test_retention_runs_once_per_case(session, world, clock):
    later = clock.now + timedelta(days=DAYS + 1)
    retention.apply(session, now=later, days=DAYS)
    session.commit()
    again = retention.apply(session, now=later + timedelta(days=1), days=DAYS)
    session.commit()
    assert again.cases == [] and again.events_redacted == 0
    sharps = _case(session, world["sharps"])
    assert [e.type for e in audit.events_for(session, sharps)].count("retention_applied") == 1


def test_a_later_case_in_the_same_sms_conversation_keeps_its_transcript(session, settings, world, clock):
    later = clock.now + timedelta(days=DAYS + 10)
    new_turn = _message(session, world["cid"], "it happened again", later - timedelta(minutes=2))
    case_service.create(session, data={"line": "sharps", "channel": "sms", "conversation_id": world["cid"],
                                       "contact": {"phone": PHONE}}, now=later, settings=settings)
    session.commit()
    retention.apply(session, now=later, days=DAYS)
    session.commit()
    left = list(session.scalars(select(ConversationMessage.text).where(ConversationMessage.conversation_id ==
                                                                        world["cid"])))
    assert left == ["it happened again"]
    assert new_turn.id


def test_the_cli_reports_and_a_dry_run_changes_nothing(session, settings, world, clock, monkeypatch, capsys):
    monkeypatch.setattr(retention_cli, "get_settings", lambda: settings.model_copy(
        update={"retention_days_after_closure": 30}))
    later = lambda: clock.now + timedelta(days=31)  # noqa: E731
    assert retention_cli.main(["--dry-run"], clock=later) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["dry_run"] is True and report["cases"] == 2
    assert _case(session, world["sharps"]).contact["name"] == "Sam Smith"
    assert retention_cli.main(["--days", "30"], clock=later) == 0
    assert json.loads(capsys.readouterr().out)["cases"] == 2
    assert _case(session, world["sharps"]).contact == {}
    assert session.scalar(select(func.count()).select_from(CaseEvent).where(
        CaseEvent.type == "retention_applied")) == 2


def test_follow_ups_keep_their_day_and_state_and_lose_what_and_the_reminder_to_the_person(session, world, clock):
    from api.models import FollowUp
    from api.services import follow_ups, outbox

    sharps = _case(session, world["sharps"])
    fu = follow_ups.add(session, sharps, due_on=(clock.now + timedelta(days=30)).date(),
                        what="Second dose, accelerated hepatitis B course", remind_by_sms=True, actor="Alex",
                        now=clock.now)
    follow_ups.mark_done(session, fu, actor="Alex", note="Sam had it at the Riverside clinic",
                         now=clock.now + timedelta(days=30))
    reminder = outbox.enqueue_sms(session, to=PHONE, body="You have a follow-up due today.",
                                  now=clock.now + timedelta(days=30))
    session.commit()

    retention.apply(session, now=clock.now + timedelta(days=DAYS + 40), days=DAYS)
    session.commit()
    session.expire_all()
    kept = session.get(FollowUp, fu.id)
    assert (kept.due_on, kept.status, kept.closed_at) == (fu.due_on, "done", fu.closed_at)
    assert kept.what == retention.REMOVED and kept.close_note == retention.REMOVED
    text = session.get(OutboxMessage, reminder.id)
    assert text.to == retention.REMOVED and text.body == retention.REMOVED
    dump = json.dumps([[e.description, e.details] for e in audit.events_for(session, kept.case)])
    assert "accelerated hepatitis B course" not in dump and "Riverside clinic" not in dump


def test_the_subject_access_export_lists_the_cases_follow_ups(session, settings, world, clock):
    from api.services import follow_ups

    sharps = _case(session, world["sharps"])
    follow_ups.add(session, sharps, due_on=(clock.now + timedelta(days=7)).date(), what="Chase the source's results",
                   remind_by_sms=False, actor="Alex", now=clock.now)
    session.commit()
    export = retention.subject_access_export(session, phone=PHONE, secret=settings.session_secret, now=clock.now)
    case = next(c for c in export["cases"] if c["ref"] == world["sharps"])
    assert [(f["what"], f["status"]) for f in case["follow_ups"]] == [("Chase the source's results", "open")]
