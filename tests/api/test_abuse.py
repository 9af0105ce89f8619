"""Abuse marks: a practitioner silences the pages of a case's source for a set time. Its cases
are still opened and queued (the doors still store and answer every message); only the pages
are held, except an emergency or a crisis, which still pages once per window."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from api.models import AbuseMark, Case, CaseEvent, Page
from api.services import abuse, cases, queue
from api.services.identities import sms_conversation_id
from tests.api.conftest import TOKEN
from tests.api.factories import HIV_NEEDLESTICK, standard_rota

NUMBER = "+447700900555"


def _conversation(settings, number=NUMBER):
    return sms_conversation_id(settings.session_secret, number)


def _open(client, conversation, **body):
    data = {"line": "sharps", "kind": "advice", "channel": "sms", "conversation_id": conversation, "answers": {}}
    r = client.post("/api/cases", json={**data, **body})
    assert r.status_code == 201, r.text
    return r.json()["ref"]


def _crisis(client, conversation):
    return _open(client, conversation, line="manager", kind="crisis", answers={"crisis": True})


def _pages_of(session, ref):
    session.expire_all()
    return list(session.scalars(select(Page).join(Page.case).where(Case.ref == ref).order_by(Page.id)))


def _events(session, ref, type_):
    return list(session.scalars(select(CaseEvent).join(Case, Case.id == CaseEvent.case_id)
                                .where(Case.ref == ref, CaseEvent.type == type_).order_by(CaseEvent.id)))


def _operator_actor(session, ref):
    """The actor the operator's token records (whatever the token dependency names it)."""
    (event,) = _events(session, ref, "case_created")
    return event.actor


def test_a_mark_holds_pages_from_the_source_for_the_set_time_and_then_expires(client, session, settings, clock):
    standard_rota(session, now=clock.now)
    conversation = _conversation(settings)
    marked = _open(client, conversation)
    assert [p.status for p in _pages_of(session, marked)] == ["pending"]

    r = client.post(f"/api/cases/{marked}/abuse", json={"reason": "twenty prank texts tonight", "actor": "mallory"})
    assert r.status_code == 201, r.text
    mark = r.json()
    assert mark["until"].startswith((clock.now + timedelta(seconds=settings.abuse_silence_seconds)).isoformat()[:19])
    assert mark["source"] == "phone number" and mark["marked_by"] != "mallory"
    # The marked case's own ladder stops: its page is closed, and audited with the token's identity.
    assert [p.status for p in _pages_of(session, marked)] == ["superseded"]
    (event,) = _events(session, marked, "abuse_marked")
    assert event.actor == _operator_actor(session, marked) and event.actor != "mallory"
    assert event.details["reason"] == "twenty prank texts tonight"

    # Within the silence: a new urgent case from the number is opened and queued, not paged.
    clock.advance(hours=1)
    held = _open(client, conversation)
    assert _pages_of(session, held) == []
    (hold,) = _events(session, held, "page_held")
    assert "source marked as abuse until" in hold.description and marked in hold.description
    assert held in [row.case.ref for row in queue.open_queue(session, now=clock.now)]
    # Another number is not silenced.
    assert _pages_of(session, _open(client, _conversation(settings, "+447700900556")))

    # Past the set time the mark has expired: the number pages again.
    clock.advance(seconds=settings.abuse_silence_seconds)
    assert [p.status for p in _pages_of(session, _open(client, conversation))] == ["pending"]


def test_an_emergency_or_a_crisis_from_a_silenced_source_still_pages_once_per_window(
        client, session, settings, clock):
    standard_rota(session, now=clock.now)
    conversation = _conversation(settings)
    marked = _open(client, conversation)
    client.post(f"/api/cases/{marked}/abuse", json={"reason": "prank"})
    clock.advance(minutes=5)
    emergency = _open(client, conversation, kind="exposure", answers=HIV_NEEDLESTICK)
    assert [p.status for p in _pages_of(session, emergency)] == ["pending"]
    crises = [_crisis(client, conversation) for _ in range(5)]
    paged = [ref for ref in crises if _pages_of(session, ref)]
    assert paged == crises[:1]  # the first crisis pages; the others join its page
    assert all(_events(session, ref, "page_grouped") for ref in crises[1:])


def test_a_running_ladder_of_the_source_stops_at_its_next_step_once_marked(client, session, settings, clock, app):
    standard_rota(session, now=clock.now)
    conversation = _conversation(settings)
    running = _open(client, conversation)  # urgent: pages now
    clock.advance(minutes=40)  # out of the grouping window
    marked = _open(client, conversation)
    client.post(f"/api/cases/{marked}/abuse", json={"reason": "prank"})
    clock.advance(seconds=settings.ack_seconds_urgent)
    app.state.worker.tick()
    assert [p.status for p in _pages_of(session, running)] == ["escalated"]  # no next step
    assert _events(session, running, "page_held")


def test_lifting_the_mark_pages_what_it_held_once(client, session, settings, clock):
    standard_rota(session, now=clock.now)
    conversation = _conversation(settings)
    marked = _open(client, conversation)
    client.post(f"/api/cases/{marked}/abuse", json={"reason": "looked like a prank"})
    held = [_open(client, conversation) for _ in range(3)]
    assert [p.status for p in _pages_of(session, marked)] == ["superseded"]
    assert [_pages_of(session, ref) for ref in held] == [[], [], []]
    assert client.get(f"/api/cases/{held[0]}/abuse").json()["silenced"]["case_ref"] == marked

    clock.advance(minutes=10)
    r = client.delete(f"/api/cases/{held[0]}/abuse")
    assert r.status_code == 200 and [m["case_ref"] for m in r.json()] == [marked]
    assert r.json()[0]["lifted_by"] == _operator_actor(session, marked)
    assert client.get(f"/api/cases/{held[0]}/abuse").json()["silenced"] is None
    # Audited on the case it was made on and the one it was lifted from.
    assert _events(session, marked, "abuse_lifted") and _events(session, held[0], "abuse_lifted")
    # The held cases (and the marked one, whose page the mark closed) page now: one ladder.
    live = [ref for ref in [marked, *held] if any(p.status == "pending" for p in _pages_of(session, ref))]
    assert live == [marked]
    assert all(_events(session, ref, "page_grouped") for ref in held)


def test_marking_needs_the_operator_token_and_a_source(client, anon, session, settings, clock):
    standard_rota(session, now=clock.now)
    ref = _open(client, _conversation(settings))
    assert anon.post(f"/api/cases/{ref}/abuse", json={"reason": "prank"}).status_code == 401
    assert anon.delete(f"/api/cases/{ref}/abuse").status_code == 401
    wrong = {"Authorization": f"Bearer {TOKEN}x"}
    assert anon.post(f"/api/cases/{ref}/abuse", json={"reason": "prank"}, headers=wrong).status_code == 401
    assert client.post(f"/api/cases/{ref}/abuse", json={"reason": ""}).status_code == 422
    assert client.post("/api/cases/SH-999999/abuse", json={"reason": "prank"}).status_code == 404
    no_source = _open(client, None)
    r = client.post(f"/api/cases/{no_source}/abuse", json={"reason": "prank"})
    assert r.status_code == 409
    assert session.scalar(select(AbuseMark)) is None


def test_a_typed_call_back_number_is_not_a_source(session, settings, clock):
    """A mark must not silence someone whose number an abuser typed as the call-back number."""
    standard_rota(session, now=clock.now)
    victim = "+447700900777"
    abuser_case = cases.create(session, data={
        "line": "sharps", "kind": "advice", "channel": "sms", "conversation_id": _conversation(settings),
        "contact": {"phone": victim}, "answers": {}}, now=clock.now, settings=settings)
    cases.mark_abuse(session, abuser_case, reason="prank", actor="test", now=clock.now, settings=settings)
    session.commit()
    victim_case = cases.create(session, data={
        "line": "sharps", "kind": "advice", "channel": "sms", "conversation_id": _conversation(settings, victim),
        "answers": {}}, now=clock.now, settings=settings)
    session.commit()
    assert abuse.silence_for(session, victim_case.source_key, clock.now) is None
    assert [p.status for p in victim_case.pages] == ["pending"]
