"""Page grouping: cases from one source (a phone number, a web chat client or conversation) page
once per window; the later ones join the first case's page and start no ladder of their own."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from api.domain import page_gate
from api.domain.page_gate import Anchor, Need, Silence, Verdict
from api.models import Case, CaseEvent, ConversationMessage, Page
from api.services import abuse, cases, paging
from api.services.identities import sms_conversation_id
from tests.api.conftest import T0
from tests.api.factories import HIV_NEEDLESTICK, standard_rota

NUMBER = "+447700900555"
WINDOW = timedelta(minutes=30)


def _number_conversation(settings, number=NUMBER) -> str:
    return sms_conversation_id(settings.session_secret, number)


def _crisis(session, settings, now, conversation_id, channel="sms"):
    case = cases.create(session, data={"line": "manager", "kind": "crisis", "channel": channel,
                                       "conversation_id": conversation_id, "answers": {"crisis": True}},
                        now=now, settings=settings)
    session.commit()
    return case


def _sharps(session, settings, now, conversation_id, answers=HIV_NEEDLESTICK, **extra):
    case = cases.create(session, data={"line": "sharps", "channel": "sms", "conversation_id": conversation_id,
                                       "answers": answers, **extra}, now=now, settings=settings)
    session.commit()
    return case


def _pages(session, case=None):
    session.expire_all()
    query = select(Page).order_by(Page.id)
    if case is not None:
        query = query.where(Page.case_id == case.id)
    return list(session.scalars(query))


def _events(session, case, type_):
    return list(session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id, CaseEvent.type == type_)
                                .order_by(CaseEvent.id)))


# --- the pure rule ------------------------------------------------------------------------------

def _anchor(urgency="emergency", crisis=True, paged_ago=timedelta(minutes=5), live=False, case_id=1):
    return Anchor(case_id=case_id, ref=f"SH-{case_id:06d}", urgency=urgency, crisis=crisis,
                  last_paged_at=T0 - paged_ago, live=live, page_id=case_id * 10)


def _decide(need, anchors=(), silence=None, starting=True):
    return page_gate.decide(need, starting=starting, anchors=anchors, silence=silence, now=T0, window=WINDOW)


def test_rule_groups_a_case_under_an_earlier_page_that_covers_it_within_the_window():
    emergency = Need(urgency="emergency", crisis=True)
    assert _decide(emergency).verdict == Verdict.page
    decision = _decide(emergency, [_anchor()])
    assert decision.verdict == Verdict.group and decision.anchor.ref == "SH-000001"
    # Past the window the earlier page no longer speaks for the source, unless it still waits.
    assert _decide(emergency, [_anchor(paged_ago=WINDOW)]).verdict == Verdict.page
    assert _decide(emergency, [_anchor(paged_ago=3 * WINDOW, live=True)]).verdict == Verdict.group
    # The first (oldest) anchor that covers the case takes it.
    first, second = _anchor(case_id=1), _anchor(case_id=2)
    assert _decide(emergency, [first, second]).anchor == first


def test_rule_never_hides_a_more_urgent_case_or_a_crisis_behind_a_lesser_page():
    assert _decide(Need("emergency", False), [_anchor(urgency="urgent", crisis=False)]).verdict == Verdict.page
    assert _decide(Need("emergency", True), [_anchor(urgency="emergency", crisis=False)]).verdict == Verdict.page
    assert _decide(Need("urgent", False), [_anchor(urgency="emergency", crisis=False)]).verdict == Verdict.group
    assert _decide(Need(None, False), [_anchor(urgency="urgent", crisis=False)]).verdict == Verdict.group


def test_rule_never_groups_a_later_round_of_a_case_own_ladder():
    assert _decide(Need("emergency", True), [_anchor()], starting=False).verdict == Verdict.page


def test_rule_holds_a_silenced_source_except_an_emergency_or_a_crisis_which_pages_once_per_window():
    silence = Silence(mark_id=1, until=T0 + timedelta(hours=1), marked_on="SH-000009")
    assert _decide(Need("urgent", False), silence=silence).verdict == Verdict.hold
    assert _decide(Need("urgent", False), silence=silence, starting=False).verdict == Verdict.hold
    assert _decide(Need("emergency", False), silence=silence).verdict == Verdict.page
    assert _decide(Need("urgent", True), silence=silence).verdict == Verdict.page
    assert _decide(Need("emergency", True), [_anchor()], silence=silence).verdict == Verdict.group
    expired = Silence(mark_id=1, until=T0, marked_on="SH-000009")
    assert _decide(Need("urgent", False), silence=expired).verdict == Verdict.page


# --- through the case service -------------------------------------------------------------------

def test_ten_crisis_cases_from_one_number_page_once_and_climb_one_ladder(session, settings, clock, app):
    people = standard_rota(session, now=clock.now)
    conversation = _number_conversation(settings)
    opened = []
    for _ in range(10):
        opened.append(_crisis(session, settings, clock.now, conversation))
        clock.advance(seconds=20)
    pages = _pages(session)
    assert len(pages) <= 2
    assert {p.case_id for p in pages} == {opened[0].id}
    assert [(p.practitioner_id, p.status) for p in pages] == [(people["primary"].id, "pending")]

    session.expire_all()
    first = session.get(Case, opened[0].id)
    for opened_later in opened[1:]:
        later = session.get(Case, opened_later.id)
        assert later.grouped_with_id == first.id and later.status == "triaged"
        (event,) = _events(session, later, "page_grouped")
        assert f"page grouped with {first.ref}" in event.description
        assert event.details["page_id"] == pages[0].id
    assert len(_events(session, first, "page_grouped")) == 9
    # Every case is on the queue, whatever its page did.
    assert session.scalar(select(func.count()).select_from(Case).where(Case.status != "closed")) == 10

    # Only the first case climbs the ladder.
    worker = app.state.worker
    for _ in range(3):
        clock.advance(seconds=settings.ack_seconds_emergency)
        worker.tick()
    ladders = {p.case_id for p in _pages(session)}
    assert ladders == {opened[0].id}
    assert [p.tier for p in _pages(session)] == ["primary", "backup", "clinical_lead", "everyone"]


def test_the_same_burst_through_the_api_pages_once(client, session, settings, clock):
    standard_rota(session, now=clock.now)
    conversation = _number_conversation(settings)
    refs = []
    for _ in range(10):
        r = client.post("/api/cases", json={"line": "manager", "kind": "crisis", "channel": "sms",
                                            "conversation_id": conversation, "answers": {"crisis": True}})
        assert r.status_code == 201, r.text
        refs.append(r.json()["ref"])
    assert len(_pages(session)) <= 2
    assert client.get(f"/api/cases/{refs[-1]}/abuse").json()["grouped_with"] == refs[0]


def test_another_source_pages_on_its_own(session, settings, clock):
    standard_rota(session, now=clock.now)
    a = _crisis(session, settings, clock.now, _number_conversation(settings))
    b = _crisis(session, settings, clock.now, _number_conversation(settings, "+447700900556"))
    c = _crisis(session, settings, clock.now, None)  # opened through the API: no source, never grouped
    d = _crisis(session, settings, clock.now, None)
    assert {p.case_id for p in _pages(session)} == {a.id, b.id, c.id, d.id}


def test_a_web_client_key_on_the_turn_groups_new_conversations(session, settings, clock):
    """A door that names its client on the turn (details.client) groups a cookie-less burst, each
    message of which starts a new conversation."""
    standard_rota(session, now=clock.now)
    opened = []
    for i in range(4):
        conversation = f"web-{i:032x}"
        session.add(ConversationMessage(conversation_id=conversation, channel="web", direction="inbound",
                                        text="I want to end it all", status="relayed",
                                        details={abuse.CLIENT_DETAIL: "client-hash-1"}, created_at=clock.now))
        session.flush()
        opened.append(_crisis(session, settings, clock.now, conversation, channel="web"))
    assert opened[0].source_key == "client:client-hash-1"
    assert {p.case_id for p in _pages(session)} == {opened[0].id}


def test_a_more_urgent_case_and_a_crisis_page_despite_an_earlier_page(session, settings, clock):
    standard_rota(session, now=clock.now)
    conversation = _number_conversation(settings)
    urgent = _sharps(session, settings, clock.now, conversation, answers={}, kind="advice")
    assert urgent.urgency == "urgent" and _pages(session, urgent)
    emergency = _sharps(session, settings, clock.now, conversation)
    assert emergency.urgency == "emergency" and _pages(session, emergency)
    crisis = _crisis(session, settings, clock.now, conversation)
    assert _pages(session, crisis)  # a needlestick's page does not speak for a crisis
    again = _crisis(session, settings, clock.now, conversation)
    assert not _pages(session, again) and again.grouped_with_id == crisis.id


def test_after_the_window_an_answered_source_pages_again(session, settings, clock):
    standard_rota(session, now=clock.now)
    conversation = _number_conversation(settings)
    first = _crisis(session, settings, clock.now, conversation)
    paging.acknowledge(session, _pages(session, first)[0].id, now=clock.now)
    session.commit()
    clock.advance(seconds=settings.page_group_window_seconds - 1)
    inside = _crisis(session, settings, clock.now, conversation)
    assert not _pages(session, inside)
    clock.advance(seconds=1)
    outside = _crisis(session, settings, clock.now, conversation)
    assert _pages(session, outside)


def test_a_closed_case_is_no_anchor(session, settings, clock):
    standard_rota(session, now=clock.now)
    conversation = _number_conversation(settings)
    first = _crisis(session, settings, clock.now, conversation)
    cases.change_status(session, first, status="closed", actor="test", now=clock.now, outcome="advice_only")
    session.commit()
    second = _crisis(session, settings, clock.now, conversation)
    assert _pages(session, second)


def test_a_grouped_case_updated_again_says_so_once(session, settings, clock):
    standard_rota(session, now=clock.now)
    conversation = _number_conversation(settings)
    _crisis(session, settings, clock.now, conversation)
    later = _crisis(session, settings, clock.now, conversation)
    cases.update(session, later, data={"summary": "still here"}, now=clock.now, settings=settings)
    session.commit()
    assert len(_events(session, later, "page_grouped")) == 1 and not _pages(session, later)


def test_held_provisional_pages_released_together_page_once(session, settings, clock, app):
    """Rasa slow: each "hi" opens a provisional case whose page is held; when they fall due
    together the first pages and the others join it."""
    standard_rota(session, now=clock.now)
    conversation = _number_conversation(settings)
    opened = [_sharps(session, settings, clock.now, conversation, answers={}, provisional=True)
              for _ in range(3)]
    assert [[p.status for p in _pages(session, c)] for c in opened] == [["scheduled"]] * 3
    clock.advance(seconds=settings.provisional_hold_seconds)
    app.state.worker.tick()
    sent = [p for p in _pages(session) if p.sent_at is not None]
    assert {p.case_id for p in sent} == {opened[0].id}


def test_a_grouped_case_that_grows_more_urgent_pages_on_its_own(session, settings, clock):
    standard_rota(session, now=clock.now)
    conversation = _number_conversation(settings)
    first = _sharps(session, settings, clock.now, conversation, answers={})  # nothing known yet: urgent
    later = _sharps(session, settings, clock.now, conversation, answers={})
    assert first.urgency == later.urgency == "urgent"
    assert later.grouped_with_id == first.id and not _pages(session, later)
    cases.update(session, later, data={"answers": HIV_NEEDLESTICK}, now=clock.now, settings=settings)
    session.commit()
    assert later.urgency == "emergency" and [p.status for p in _pages(session, later)] == ["pending"]
    assert session.get(Case, later.id).grouped_with_id is None and _events(session, later, "page_ungrouped")
