"""SMS "ACK": only an active practitioner holding a live page of the case, from their registered
mobile; the reply names the page, and a refusal says nothing about the case."""
from __future__ import annotations

from sqlalchemy import select

from api.models import Case, CaseEvent, Page, Practitioner, UserAccount
from api.services import cases, paging
from tests.api.factories import HIV_NEEDLESTICK, standard_rota


def _emergency(session, settings, clock):
    people = standard_rota(session, now=clock.now)
    case = cases.create(session, data={"line": "sharps", "channel": "sms", "contact": {"phone": "+447700900555"},
                                       "answers": HIV_NEEDLESTICK}, now=clock.now, settings=settings)
    session.commit()
    return case, people


def _pages(session, case):
    session.expire_all()
    return list(session.scalars(select(Page).where(Page.case_id == case.id).order_by(Page.id)))


def _ack(session, case, mobile, clock):
    session.expire_all()  # as a new request would: the worker paged in its own session
    result = paging.ack_by_reply(session, ref=case.ref, from_number=mobile, now=clock.now)
    session.commit()
    return result


def test_the_paged_practitioner_acknowledges_and_the_reply_names_the_page(session, settings, clock):
    case, _ = _emergency(session, settings, clock)
    (page,) = _pages(session, case)
    clock.advance(minutes=1)
    result = _ack(session, case, "07700 900201", clock)  # their number, as a person would type it
    assert result.page.id == page.id and result.refused is None
    assert result.text.startswith(f"Page {page.id} for {case.ref} acknowledged (emergency).")
    assert "+447700900555" in result.text
    assert _pages(session, case)[0].status == "acknowledged"
    # Again from the same phone: the same page, named again, nothing new.
    again = _ack(session, case, "+447700900201", clock)
    assert again.page.id == page.id and again.text.startswith(f"Page {page.id} for {case.ref}")
    # The old seam still answers with the page.
    assert paging.acknowledge_by_reply(session, ref=case.ref, from_number="+447700900201", now=clock.now).id == page.id


def test_a_deactivated_practitioner_cannot_acknowledge_and_the_ladder_goes_on(session, settings, clock, app):
    case, people = _emergency(session, settings, clock)
    primary = session.get(Practitioner, people["primary"].id)
    primary.active = False
    session.commit()
    result = _ack(session, case, primary.mobile, clock)
    assert result.page is None and result.text == paging.ACK_REFUSED and result.refused == "practitioner deactivated"
    assert paging.acknowledge_by_reply(session, ref=case.ref, from_number=primary.mobile, now=clock.now) is None
    assert [p.status for p in _pages(session, case)] == ["pending"]
    clock.advance(seconds=settings.ack_seconds_emergency)
    assert app.state.worker.tick()["escalated"] == 1
    assert [p.tier for p in _pages(session, case)] == ["primary", "backup"]
    assert session.get(Case, case.id).status == "escalated"


def test_a_practitioner_whose_sign_in_was_switched_off_cannot_acknowledge(session, settings, clock):
    case, people = _emergency(session, settings, clock)
    session.add(UserAccount(email="alex@example.nhs.uk", name="Alex Primary", role="practitioner",
                            password_hash="x", practitioner_id=people["primary"].id, active=False,
                            created_at=clock.now))
    session.commit()
    result = _ack(session, case, people["primary"].mobile, clock)
    assert result.page is None and result.text == paging.ACK_REFUSED
    assert [p.status for p in _pages(session, case)] == ["pending"]


def test_nobody_off_this_case_live_page_can_acknowledge_it(session, settings, clock, app):
    case, people = _emergency(session, settings, clock)
    other_case = cases.create(session, data={"line": "sharps", "channel": "sms", "answers": HIV_NEEDLESTICK},
                              now=clock.now, settings=settings)
    session.commit()
    for mobile in (people["other"].mobile, people["backup"].mobile, "+447700900999", "+447700900555", "not a number"):
        result = _ack(session, case, mobile, clock)
        assert result.page is None and result.text == paging.ACK_REFUSED
    # A page of another case is not a page of this one; an unknown reference is refused the same way.
    backup_paged_elsewhere = _ack(session, other_case, people["backup"].mobile, clock)
    assert backup_paged_elsewhere.page is None
    assert paging.ack_by_reply(session, ref="SH-999999", from_number=people["primary"].mobile,
                               now=clock.now).text == paging.ACK_REFUSED
    assert [p.status for p in _pages(session, case)] == ["pending"]
    clock.advance(seconds=settings.ack_seconds_emergency)
    assert app.state.worker.tick()["escalated"] == 2  # both ladders go on


def test_an_escalated_page_counts_until_someone_else_acknowledges(session, settings, clock, app):
    case, people = _emergency(session, settings, clock)
    clock.advance(seconds=settings.ack_seconds_emergency)
    app.state.worker.tick()
    assert [p.status for p in _pages(session, case)] == ["escalated", "pending"]
    # The backup acknowledges first: the primary's escalated page is no longer live.
    assert _ack(session, case, people["backup"].mobile, clock).page is not None
    late = _ack(session, case, people["primary"].mobile, clock)
    assert late.page is None and late.text == paging.ACK_REFUSED
    assert [p.acknowledged_by for p in _pages(session, case)] == [None, "Bea Backup"]


def test_an_escalated_page_nobody_answered_may_still_be_acknowledged(session, settings, clock, app):
    case, people = _emergency(session, settings, clock)
    clock.advance(seconds=settings.ack_seconds_emergency)
    app.state.worker.tick()
    late = _ack(session, case, people["primary"].mobile, clock)
    assert late.page is not None and late.page.tier == "primary"
    assert [p.status for p in _pages(session, case)] == ["acknowledged", "superseded"]


def test_superseded_pages_and_closed_cases_are_not_live(session, settings, clock):
    case, people = _emergency(session, settings, clock)
    paging.supersede_active(session, case, now=clock.now, why="tier raised")
    session.commit()
    assert _ack(session, case, people["primary"].mobile, clock).page is None

    fresh = cases.create(session, data={"line": "sharps", "channel": "sms", "answers": HIV_NEEDLESTICK},
                         now=clock.now, settings=settings)
    cases.change_status(session, fresh, status="closed", actor="test", now=clock.now, outcome="advice_only")
    session.commit()
    assert [p.status for p in _pages(session, fresh)] == ["superseded"]
    assert _ack(session, fresh, people["primary"].mobile, clock).page is None


def test_the_refusal_reveals_nothing_about_the_case(session, settings, clock):
    case, people = _emergency(session, settings, clock)
    refused = {_ack(session, case, mobile, clock).text
               for mobile in ("+447700900999", people["other"].mobile)}
    assert refused == {paging.ACK_REFUSED}
    assert case.ref not in paging.ACK_REFUSED and "emergency department" not in paging.ACK_REFUSED.lower()
    assert "999" in paging.ACK_REFUSED  # but anyone who needs help is told where to get it



def test_two_acknowledgements_at_once_record_one(session_factory, settings, clock):
    """The dashboard and a text acknowledge the same page at the same moment: one wins."""
    with session_factory() as s:
        standard_rota(s, now=clock.now)
        case = cases.create(s, data={"line": "sharps", "answers": HIV_NEEDLESTICK}, now=clock.now, settings=settings)
        s.commit()
        page_id = next(p.id for p in case.pages if p.status == "pending")
    first, second = session_factory(), session_factory()
    try:
        first.get(Page, page_id)
        second.get(Page, page_id)  # both have read the page as pending
        paging.acknowledge(first, page_id, now=clock.now, by="Alex Primary")
        first.commit()
        page = paging.acknowledge(second, page_id, now=clock.now, by="Someone Else")
        second.commit()
        assert page.acknowledged_by == "Alex Primary"
    finally:
        first.close()
        second.close()
    with session_factory() as s:
        acks = list(s.scalars(select(CaseEvent).where(CaseEvent.type == "page_acknowledged")))
        assert len(acks) == 1 and acks[0].actor == "Alex Primary"
