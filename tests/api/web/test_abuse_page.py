"""The case page's abuse button, and the flags the queue and the case page show for page
grouping and abuse marks."""
from __future__ import annotations

from sqlalchemy import select

from api.models import Case, CaseEvent, Page
from api.services import cases
from api.services.identities import sms_conversation_id
from tests.api.web.conftest import token_of

NUMBER = "+447700900555"


def _open(session, settings, clock, **data):
    case = cases.create(session, data={
        "line": "sharps", "kind": "advice", "channel": "sms", "answers": {},
        "conversation_id": sms_conversation_id(settings.session_secret, NUMBER), **data},
        now=clock.now, settings=settings)
    session.commit()
    return case.ref


def _crisis(session, settings, clock):
    return _open(session, settings, clock, line="manager", kind="crisis", answers={"crisis": True})


def _events(session, ref, type_):
    session.expire_all()
    return list(session.scalars(select(CaseEvent).join(Case, Case.id == CaseEvent.case_id)
                                .where(Case.ref == ref, CaseEvent.type == type_)))


def test_a_practitioner_marks_a_case_as_abuse_and_lifts_it(browser_for, world, session, settings, clock):
    ref = _open(session, settings, clock)
    browser = browser_for("practitioner")
    page = browser.get(f"/cases/{ref}").text
    assert 'data-action="mark-abuse"' in page and "phone number" in page

    csrf = token_of(browser, f"/cases/{ref}")
    r = browser.post(f"/cases/{ref}/abuse", data={"csrf_token": csrf, "reason": "prank texts all night",
                                                  "actor": "someone else"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/cases/{ref}?done=abuse"
    (event,) = _events(session, ref, "abuse_marked")
    assert event.actor == "Alex Primary (practitioner)"
    page = browser.get(f"/cases/{ref}").text
    assert 'id="abuse-flag"' in page and 'data-action="lift-abuse"' in page

    held = _open(session, settings, clock)
    assert not session.scalars(select(Page).join(Page.case).where(Case.ref == held)).all()
    queue = browser.get("/dashboard/queue").text
    assert held in queue and "source marked as abuse until" in queue

    r = browser.post(f"/cases/{ref}/abuse/lift", data={"csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303
    assert [e.actor for e in _events(session, ref, "abuse_lifted")] == ["Alex Primary (practitioner)"]
    assert "source marked as abuse until" not in browser.get("/dashboard/queue").text


def test_the_abuse_form_needs_a_reason_a_csrf_token_and_a_clinical_user(browser_for, world, session, settings,
                                                                         clock):
    ref = _open(session, settings, clock)
    browser = browser_for("practitioner")
    csrf = token_of(browser, f"/cases/{ref}")
    assert browser.post(f"/cases/{ref}/abuse", data={"reason": "prank"}).status_code == 403  # no CSRF token
    assert browser.post(f"/cases/{ref}/abuse", data={"csrf_token": csrf, "reason": " "}).status_code == 400
    manager = browser_for("manager")
    r = manager.post(f"/cases/{ref}/abuse", data={"csrf_token": token_of(manager, "/"), "reason": "prank"})
    assert r.status_code == 403 and "Only practitioners and clinical leads" in r.text
    assert _events(session, ref, "abuse_marked") == []


def test_the_case_page_and_the_queue_show_the_grouping(browser_for, world, session, settings, clock):
    first = _crisis(session, settings, clock)
    later = _crisis(session, settings, clock)
    browser = browser_for("practitioner")
    assert f'Page grouped with <a href="/cases/{first}">{first}</a>' in browser.get(f"/cases/{later}").text
    assert f'<a href="/cases/{later}">{later}</a>' in browser.get(f"/cases/{first}").text
    assert f"page grouped with {first}" in browser.get("/dashboard/queue").text
