"""The escalation ladder, driven by a fake clock and the worker's tick."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from api.models import Case, CaseEvent, OutboxMessage, Page
from api.services import cases, paging
from tests.api.factories import HIV_NEEDLESTICK, standard_rota


def _open(session, settings, now, answers=HIV_NEEDLESTICK, **extra):
    case = cases.create(session, data={"line": "sharps", "answers": answers, **extra}, now=now, settings=settings)
    session.commit()
    return case


def _pages(session, case):
    session.expire_all()
    return list(session.scalars(select(Page).where(Page.case_id == case.id).order_by(Page.id)))


def _event_types(session, case):
    return [e.type for e in session.scalars(
        select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id))]


def test_emergency_pages_primary_at_once_in_the_same_transaction(session, settings, clock):
    people = standard_rota(session, now=clock.now)
    case = _open(session, settings, clock.now)
    pages = _pages(session, case)
    assert [(p.practitioner_id, p.tier, p.status, p.urgency) for p in pages] == [
        (people["primary"].id, "primary", "pending", "emergency")
    ]
    assert pages[0].sent_at == clock.now
    assert pages[0].ack_deadline == clock.now + timedelta(seconds=settings.ack_seconds_emergency)
    texts = list(session.scalars(select(OutboxMessage)))
    assert [m.to for m in texts] == ["+447700900201"]
    assert case.ref in texts[0].body and "ED" in texts[0].body
    assert case.status == "escalated"
    assert _event_types(session, case) == ["case_created", "triaged", "status_changed", "page_sent", "status_changed"]


def test_unacknowledged_page_climbs_the_ladder(session, settings, clock, app):
    people = standard_rota(session, now=clock.now)
    case = _open(session, settings, clock.now)
    worker = app.state.worker

    clock.advance(seconds=299)
    assert worker.tick()["escalated"] == 0
    clock.advance(seconds=1)
    assert worker.tick()["escalated"] == 1
    clock.advance(seconds=300)
    assert worker.tick()["escalated"] == 1
    clock.advance(seconds=300)
    assert worker.tick()["escalated"] == 1

    pages = _pages(session, case)
    assert [(p.tier, p.practitioner_id, p.attempt) for p in pages] == [
        ("primary", people["primary"].id, 1),
        ("backup", people["backup"].id, 2),
        ("clinical_lead", people["lead"].id, 3),
        ("everyone", people["other"].id, 4),  # everyone not already paged
    ]
    assert [p.status for p in pages] == ["escalated", "escalated", "escalated", "pending"]
    assert _event_types(session, case).count("page_overdue") == 3

    # Past the last step the ladder repeats the last step rather than going quiet.
    clock.advance(seconds=300)
    worker.tick()
    assert len(_pages(session, case)) > 4


def test_acknowledgement_stops_the_ladder(session, settings, clock, app):
    people = standard_rota(session, now=clock.now)
    case = _open(session, settings, clock.now)
    first = _pages(session, case)[0]
    clock.advance(seconds=60)
    paging.acknowledge(session, first.id, now=clock.now)
    session.commit()
    clock.advance(hours=2)
    assert app.state.worker.tick()["escalated"] == 0
    session.expire_all()
    case = session.get(Case, case.id)
    assert case.status == "acknowledged" and case.owner_id == people["primary"].id
    assert case.acknowledged_at == clock.now - timedelta(hours=2)
    assert [p.status for p in _pages(session, case)] == ["acknowledged"]


def test_nobody_on_rota_alerts_and_pages_the_clinical_lead(session, settings, clock):
    from tests.api.factories import practitioner

    lead = practitioner(session, "Dr Lee Lead", role="clinical_lead", mobile="+447700900203", now=clock.now)
    session.commit()
    case = _open(session, settings, clock.now)
    pages = _pages(session, case)
    assert [(p.tier, p.practitioner_id) for p in pages] == [("clinical_lead", lead.id)]
    events = _event_types(session, case)
    assert "rota_gap" in events and events.count("step_skipped") == 2
    bodies = [m.body for m in session.scalars(select(OutboxMessage))]
    assert any("ROTA GAP" in b for b in bodies)


def test_two_processes_racing_on_one_overdue_page_page_the_next_step_once(session_factory, settings, clock):
    with session_factory() as s:
        standard_rota(s, now=clock.now)
        case = _open(s, settings, clock.now)
    clock.advance(seconds=301)
    with session_factory() as a, session_factory() as b:
        first = paging.fire_overdue(a, now=clock.now, settings=settings)
        a.commit()
        second = paging.fire_overdue(b, now=clock.now, settings=settings)
        b.commit()
    assert first + second == 1
    with session_factory() as s:
        tiers = [p.tier for p in s.scalars(select(Page).where(Page.case_id == case.id))]
    assert tiers == ["primary", "backup"]


def test_a_later_answer_raises_the_tier_and_pages_again_never_lowers(session, settings, clock):
    standard_rota(session, now=clock.now)
    urgent = {"exposure_type": "percutaneous", "fluid": "blood", "source": {"identified": False}}
    case = _open(session, settings, clock.now, answers=urgent)
    assert case.urgency == "urgent"
    first = _pages(session, case)[0]
    assert first.ack_deadline == clock.now + timedelta(seconds=settings.ack_seconds_urgent)

    clock.advance(minutes=2)
    cases.update(session, case, data={"answers": {"source": {"identified": True, "hiv": "positive"}}},
                 now=clock.now, settings=settings)
    session.commit()
    pages = _pages(session, case)
    assert [(p.urgency, p.status) for p in pages] == [("urgent", "superseded"), ("emergency", "pending")]
    assert case.urgency == "emergency"

    # Clean sharp after all: the sent escalation stands.
    clock.advance(minutes=1)
    cases.update(session, case, data={"answers": {"device": {"used": False}}}, now=clock.now, settings=settings)
    session.commit()
    assert case.urgency == "emergency"
    assert [p.status for p in _pages(session, case)] == ["superseded", "pending"]


def test_provisional_case_holds_the_nothing_known_page_then_answers_decide(session, settings, clock, app):
    standard_rota(session, now=clock.now)
    case = _open(session, settings, clock.now, answers={}, provisional=True)
    pages = _pages(session, case)
    assert [(p.status, p.not_before) for p in pages] == [
        ("scheduled", clock.now + timedelta(seconds=settings.provisional_hold_seconds))
    ]
    clock.advance(minutes=1)
    cases.update(session, case, data={"answers": {"exposure_type": "intact_skin", "fluid": "low_risk"}},
                 now=clock.now, settings=settings)
    session.commit()
    assert case.urgency == "routine"
    assert [p.status for p in _pages(session, case)] == ["cancelled"]
    clock.advance(hours=1)
    assert {k: v for k, v in app.state.worker.tick().items() if v} == {}


def test_provisional_hold_is_released_when_nobody_answers(session, settings, clock, app):
    people = standard_rota(session, now=clock.now)
    case = _open(session, settings, clock.now, answers={}, provisional=True)
    clock.advance(seconds=settings.provisional_hold_seconds)
    assert app.state.worker.tick()["released"] == 1
    pages = _pages(session, case)
    assert [(p.status, p.practitioner_id) for p in pages] == [("superseded", None), ("pending", people["primary"].id)]


def test_emergency_is_never_held(session, settings, clock):
    standard_rota(session, now=clock.now)
    case = _open(session, settings, clock.now, provisional=True)
    assert [p.status for p in _pages(session, case)] == ["pending"]


def test_ack_by_sms_reply_only_from_the_paged_number(session, settings, clock):
    people = standard_rota(session, now=clock.now)
    case = _open(session, settings, clock.now)
    assert paging.acknowledge_by_reply(session, ref=case.ref, from_number="+447700900999", now=clock.now) is None
    assert paging.acknowledge_by_reply(session, ref=case.ref, from_number="07700 900202", now=clock.now) is None
    page = paging.acknowledge_by_reply(session, ref=case.ref.lower(), from_number="07700 900201", now=clock.now)
    assert page is not None and page.status == "acknowledged"
    assert page.acknowledged_by == people["primary"].name
