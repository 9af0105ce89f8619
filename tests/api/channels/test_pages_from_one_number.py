"""Through the SMS door: a burst from one number, and a number marked as abuse. Every message is
stored and answered with the safety advice; what is limited is the pages."""
from __future__ import annotations

import httpx
from sqlalchemy import select

from api.models import CaseEvent, Page
from api.services import cases
from tests.api.channels.conftest import all_cases, messages, turns
from tests.api.factories import standard_rota

DOWN = lambda body: (_ for _ in ()).throw(httpx.ConnectError("connection refused"))  # noqa: E731


def _pages(session_factory):
    with session_factory() as s:
        return list(s.scalars(select(Page).order_by(Page.id)))


def test_ten_crisis_texts_from_one_number_are_all_answered_and_page_at_most_twice(
        twilio, rasa, session_factory, clock):
    with session_factory() as s:
        standard_rota(s, now=clock.now)
    rasa.reply = DOWN
    for _ in range(10):
        (body,) = messages(twilio.sms("i want to kill myself"))
        assert "999" in body
        clock.advance(seconds=5)
    inbound = turns(session_factory, direction="inbound")
    assert len(inbound) == 10 and len(turns(session_factory, direction="outbound")) == 10
    assert len(_pages(session_factory)) <= 2


def test_a_number_marked_as_abuse_is_still_answered_and_queued_but_not_paged(
        twilio, rasa, session_factory, clock, settings):
    with session_factory() as s:
        standard_rota(s, now=clock.now)
    rasa.reply = DOWN
    messages(twilio.sms("prank: i pricked my finger on a needle"))
    (first,) = all_cases(session_factory)
    with session_factory() as s:
        case = cases.get_by_ref(s, first.ref)
        cases.mark_abuse(s, case, reason="prank texts", actor="Alex Primary (practitioner)", now=clock.now,
                         settings=settings)
        cases.change_status(s, case, status="closed", actor="Alex Primary (practitioner)", now=clock.now,
                            outcome="advice_only")
        s.commit()
    paged_before = len(_pages(session_factory))
    assert paged_before >= 1
    clock.advance(minutes=40)
    (body,) = messages(twilio.sms("i pricked my finger on a needle again"))
    assert "999" in body and "emergency department" in body
    second = all_cases(session_factory)[-1]
    assert second.id != first.id and second.status != "closed"
    assert len(_pages(session_factory)) == paged_before
    with session_factory() as s:
        held = s.scalars(select(CaseEvent).where(CaseEvent.case_id == second.id, CaseEvent.type == "page_held"))
        assert "source marked as abuse" in next(iter(held)).description
    assert turns(session_factory, direction="inbound")[-1].text == "i pricked my finger on a needle again"
