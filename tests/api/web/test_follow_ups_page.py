"""Follow-ups on the staff pages (issue #18): the case page's card (add one, add from the sharps
template, done, cancel, each in the case history), the /follow-ups list and its tabs, the
dashboard's counts, and who may see and change them. The clock is Monday 23 November 2026, 14:00."""
from __future__ import annotations

import html as html_lib
import re
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from api.models import CaseEvent, FollowUp
from tests.api.web.conftest import token_of

HBV_POSITIVE = {"exposure_type": "percutaneous", "fluid": "blood",
                "device": {"kind": "hollow_bore_needle", "used": True, "visible_blood": True},
                "source": {"identified": True, "hbv": "positive"}, "recipient": {"hbv_status": "unvaccinated"}}


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", html_lib.unescape(re.sub(r"<[^>]+>", " ", html)))


def _card(html: str) -> str:
    return re.search(r'<section class="card" id="follow-ups".*?</section>', html, re.S).group(0)


@pytest.fixture
def sharps_case(client, clock, world) -> str:
    """A hepatitis B exposure opened now, the worker's mobile known, no consent asked yet."""
    body = client.post("/api/cases", json={
        "line": "sharps", "channel": "sms", "conversation_id": "fu-1", "organisation_code": "Y00001",
        "contact": {"name": "Sam", "phone": "07700 900555"},
        "answers": {**HBV_POSITIVE, "occurred_at": (clock.now - timedelta(minutes=40)).isoformat()}})
    assert body.status_code == 201, body.text
    return body.json()["ref"]


def _agree(client, ref: str) -> None:
    r = client.post(f"/api/cases/{ref}/reminder-consent", json={"agreed": True, "words": "yes please"})
    assert r.status_code == 200, r.text


def _post(browser, path: str, ref: str, **data):
    return browser.post(path, data={"csrf_token": token_of(browser, f"/cases/{ref}"), **data}, follow_redirects=False)


def _add(browser, ref: str, **data):
    return _post(browser, f"/cases/{ref}/follow-ups", ref, **data)


def _stored(session) -> list[FollowUp]:
    session.expire_all()
    return list(session.scalars(select(FollowUp).order_by(FollowUp.id)))


def test_the_card_offers_the_sharps_template_and_says_why_texts_cannot_be_asked_for(browser_for, sharps_case):
    card = _card(browser_for("practitioner").get(f"/cases/{sharps_case}").text)
    words = _text(card)
    assert "No follow-ups yet." in words and "Use the sharps template" in words
    assert re.search(r'<details id="follow-up-template" open>', card)  # nothing planned yet: open
    whats = re.findall(r'<input type="text" id="tpl-\d+-what" name="what" maxlength="200" value="([^"]*)"', card)
    assert whats == [
        "Chase the source&#39;s blood-borne virus results",
        "First dose, accelerated hepatitis B vaccine course (at once)",
        "Second dose, accelerated hepatitis B vaccine course (1 month)",
        "Third dose, accelerated hepatitis B vaccine course (2 months)",
        "Fourth dose, accelerated hepatitis B vaccine course (12 months)",
        "Follow-up blood tests",
    ]
    dates = re.findall(r'id="tpl-\d+-due_on" name="due_on" value="([^"]*)"', card)
    # Mon 23 Nov: +2 working days; the course from the exposure day; 23 Jan 2027 is a Saturday
    assert dates == ["2026-11-25", "2026-11-23", "2026-12-23", "2027-01-25", "2027-11-23", ""]
    assert "No date suggested: choose it." in words
    assert "Source: UKHSA Green Book chapter 18 (hepatitis B), accelerated schedule" in words
    assert len(re.findall(r'name="add" value="\d+" checked', card)) == 6
    # No consent yet: every remind box is disabled, and the reason is given
    assert "Not possible: the worker has not agreed to reminder texts." in words
    assert 'id="fu-remind" name="remind_by_sms" value="yes" disabled' in card
    assert len(re.findall(r'name="remind" value="\d+" disabled', card)) == 6


def test_a_manager_line_case_has_no_template(client, browser_for, world):
    ref = client.post("/api/cases", json={"line": "manager", "channel": "web", "answers": {}}).json()["ref"]
    card = _card(browser_for("practitioner").get(f"/cases/{ref}").text)
    assert "Use the sharps template" not in card and 'action="/cases/' + ref + '/follow-ups"' in card


def test_adding_one_shows_it_due_with_its_reminder_day_and_in_the_history(client, browser_for, sharps_case, session):
    _agree(client, sharps_case)
    nurse = browser_for("practitioner")
    r = _add(nurse, sharps_case, what="Ring about the source's results", due_on="2026-11-28", remind_by_sms="yes")
    assert r.status_code == 303 and r.headers["location"] == f"/cases/{sharps_case}?done=follow_up_added#follow-ups"
    (fu,) = _stored(session)
    assert (fu.due_on, fu.what, fu.remind_by_sms, fu.status, fu.created_by) == (
        date(2026, 11, 28), "Ring about the source's results", True, "open", "Alex Primary (practitioner)")
    page = nurse.get(f"/cases/{sharps_case}?done=follow_up_added").text
    assert "Follow-up added." in page
    row = _text(re.search(rf'<tr id="follow-up-{fu.id}".*?</tr>', page, re.S).group(0))
    # Saturday 28 November: the text goes the working day before
    assert "Saturday 28 November" in row and "Due" in row and "Reminder text on Friday 27 November" in row
    assert "Done : Ring about" in row and "Cancel : Ring about" in row  # each button names its follow-up
    assert re.search(r'<details id="follow-up-template">', page)  # something planned: closed
    event = session.scalars(select(CaseEvent).where(CaseEvent.type == "follow_up_added")).one()
    assert event.actor == "Alex Primary (practitioner)" and "Ring about the source's results" in event.description
    assert "Follow up added" in _text(re.search(r'id="timeline".*?</section>', page, re.S).group(0))


def test_no_reminder_when_the_worker_has_not_agreed_says_so(browser_for, sharps_case, session):
    nurse = browser_for("practitioner")
    assert _add(nurse, sharps_case, what="Call back", due_on="2026-11-30").status_code == 303
    (fu,) = _stored(session)
    row = _text(re.search(rf'<tr id="follow-up-{fu.id}".*?</tr>', nurse.get(f"/cases/{sharps_case}").text,
                          re.S).group(0))
    assert "No reminder: not asked for" in row
    fu.remind_by_sms = True  # asked for, but the worker never agreed
    session.commit()
    row = _text(re.search(rf'<tr id="follow-up-{fu.id}".*?</tr>', nurse.get(f"/cases/{sharps_case}").text,
                          re.S).group(0))
    assert "No reminder: the worker has not agreed to reminder texts" in row


@pytest.mark.parametrize("what, due_on, field, message", [
    ("", "2026-12-01", "fu-what", "Enter what is to be done"),
    ("Chase results", "", "fu-due_on", "Enter the date it is due as a real date, like 2027-01-04"),
    ("Chase results", "2026-02-30", "fu-due_on", "Enter the date it is due as a real date, like 2027-01-04"),
    ("Chase results", "2029-01-01", "fu-due_on", "The date it is due must be within the next two years"),
])
def test_a_refused_add_points_at_its_field_and_keeps_what_was_typed(browser_for, sharps_case, session, what, due_on,
                                                                   field, message):
    r = _add(browser_for("practitioner"), sharps_case, what=what, due_on=due_on)
    assert r.status_code == 400
    assert f'<a href="#{field}">{message}</a>' in r.text
    card = _card(r.text)
    assert f'id="{field}-error"' in card and "form-group-error" in card
    assert f'value="{what}"' in card and f'id="fu-due_on" name="due_on" value="{due_on}"' in card
    assert _stored(session) == []


def _template_form(card: str) -> dict:
    """The template form as the browser would send it, every box as drawn."""
    form = re.search(r'<form method="post" action="/cases/[^"]+/follow-ups/template".*?</form>', card, re.S).group(0)
    whats = [html_lib.unescape(v) for v in re.findall(r'name="what" maxlength="200" value="([^"]*)"', form)]
    return {"what": whats, "due_on": re.findall(r'name="due_on" value="([^"]*)"', form),
            "add": re.findall(r'name="add" value="(\d+)" checked', form),
            "remind": re.findall(r'name="remind" value="(\d+)" checked', form)}


def test_the_template_adds_all_or_nothing_and_keeps_what_was_typed(client, browser_for, sharps_case, session):
    _agree(client, sharps_case)
    nurse = browser_for("practitioner")
    data = _template_form(_card(nurse.get(f"/cases/{sharps_case}").text))
    assert data["remind"] == ["1", "2", "3", "4", "5"]  # the worker's own appointments, not the team's chase
    data["what"][1] = "First dose, given in ED <already>"
    data["add"].remove("4")  # no fourth dose for now
    r = _post(nurse, f"/cases/{sharps_case}/follow-ups/template", sharps_case, **data)
    assert r.status_code == 400
    assert '<a href="#tpl-5-due_on">Choose the date for “Follow-up blood tests”</a>' in r.text
    card = _card(r.text)
    assert 'id="tpl-5-due_on-error"' in card
    assert 'aria-describedby="tpl-5-due_on-error tpl-5-due_on-hint"' in card
    assert '<details id="follow-up-template" open>' in card
    assert 'value="First dose, given in ED &lt;already&gt;"' in card  # typed words kept
    assert 'name="add" value="4">' in card.replace(' aria-invalid="true"', "")  # still unticked
    assert _stored(session) == []  # rows 0 to 3 were fine, and none was kept

    data["due_on"][5] = "2027-02-22"
    r = _post(nurse, f"/cases/{sharps_case}/follow-ups/template", sharps_case, **data)
    assert r.status_code == 303 and r.headers["location"].endswith("?done=follow_ups_added#follow-ups")
    stored = _stored(session)
    assert [(f.what, f.due_on, f.remind_by_sms) for f in stored] == [
        ("Chase the source's blood-borne virus results", date(2026, 11, 25), False),
        ("First dose, given in ED <already>", date(2026, 11, 23), True),
        ("Second dose, accelerated hepatitis B vaccine course (1 month)", date(2026, 12, 23), True),
        ("Third dose, accelerated hepatitis B vaccine course (2 months)", date(2027, 1, 25), True),
        ("Follow-up blood tests", date(2027, 2, 22), True),
    ]
    assert len(session.scalars(select(CaseEvent).where(CaseEvent.type == "follow_up_added")).all()) == 5


def test_the_template_with_nothing_ticked_or_a_bad_date_is_refused(browser_for, sharps_case, session):
    nurse = browser_for("practitioner")
    data = _template_form(_card(nurse.get(f"/cases/{sharps_case}").text))
    r = _post(nurse, f"/cases/{sharps_case}/follow-ups/template", sharps_case, **{**data, "add": []})
    assert r.status_code == 400 and '<a href="#tpl-0-add">Tick at least one follow-up to add</a>' in r.text
    data["due_on"][5], data["what"][2] = "2030-01-01", "  "
    r = _post(nurse, f"/cases/{sharps_case}/follow-ups/template", sharps_case, **data)
    assert r.status_code == 400
    assert '<a href="#tpl-2-what">Enter what is to be done</a>' in r.text
    assert ('<a href="#tpl-5-due_on">The date it is due must be within the next two years (“Follow-up blood tests”)'
            '</a>') in r.text
    assert _stored(session) == []


def test_done_and_cancel_close_it_once_and_are_in_the_history(browser_for, sharps_case, session):
    nurse = browser_for("practitioner")
    for what in ("Vaccine dose", "Blood test"):
        assert _add(nurse, sharps_case, what=what, due_on="2026-12-01").status_code == 303
    first, second = _stored(session)
    r = _post(nurse, f"/cases/{sharps_case}/follow-ups/{first.id}/done", sharps_case)
    assert r.status_code == 303 and r.headers["location"] == f"/cases/{sharps_case}?done=follow_up_done#follow-ups"
    r = _post(nurse, f"/cases/{sharps_case}/follow-ups/{second.id}/cancel", sharps_case)
    assert r.status_code == 303
    assert [(f.status, f.closed_by) for f in _stored(session)] == [
        ("done", "Alex Primary (practitioner)"), ("cancelled", "Alex Primary (practitioner)")]
    page = nurse.get(f"/cases/{sharps_case}?done=follow_up_cancelled").text
    assert "Follow-up cancelled." in page
    rows = {fid: _text(re.search(rf'<tr id="follow-up-{fid}".*?</tr>', page, re.S).group(0))
            for fid in (first.id, second.id)}
    assert "Done Monday 23 November, 14:00 by Alex Primary" in rows[first.id]
    assert "Cancelled" in rows[second.id] and "Done:" not in rows[second.id]
    timeline = _text(re.search(r'id="timeline".*?</section>', page, re.S).group(0))
    assert "Follow up done" in timeline and "Follow up cancelled" in timeline
    # Again: it is no longer open
    r = _post(nurse, f"/cases/{sharps_case}/follow-ups/{first.id}/cancel", sharps_case)
    assert r.status_code == 409
    assert '<a href="#follow-ups">This follow-up is already done or cancelled: nothing was changed</a>' in r.text
    assert _stored(session)[0].status == "done"


def test_a_follow_up_of_another_case_or_none_is_not_found(client, browser_for, sharps_case, session):
    nurse = browser_for("practitioner")
    other = client.post("/api/cases", json={"line": "sharps", "channel": "web", "answers": HBV_POSITIVE}).json()["ref"]
    assert _add(nurse, other, what="Theirs", due_on="2026-12-01").status_code == 303
    (theirs,) = _stored(session)
    assert _post(nurse, f"/cases/{sharps_case}/follow-ups/{theirs.id}/done", sharps_case).status_code == 404
    assert _post(nurse, f"/cases/{sharps_case}/follow-ups/99999/done", sharps_case).status_code == 404
    assert _post(nurse, "/cases/SH-999999/follow-ups", sharps_case, what="x", due_on="2026-12-01").status_code == 404
    assert _stored(session)[0].status == "open"


@pytest.fixture
def planned(client, browser_for, sharps_case, clock, session) -> dict[str, int]:
    """Follow-ups of two cases, due from nine days ago to three weeks ahead, one done, one cancelled."""
    other = client.post("/api/cases", json={"line": "sharps", "channel": "web", "answers": HBV_POSITIVE}).json()["ref"]
    nurse = browser_for("practitioner")
    ids = {}
    for key, ref, days in (("late", sharps_case, -9), ("yesterday", other, -1), ("today", sharps_case, 0),
                           ("soon", other, 3), ("edge", sharps_case, 14), ("later", sharps_case, 21),
                           ("finished", other, 2), ("dropped", sharps_case, 5)):
        due = (date(2026, 11, 23) + timedelta(days=days)).isoformat()
        assert _add(nurse, ref, what=f"Task {key}", due_on=due).status_code == 303
        ids[key] = _stored(session)[-1].id
    _post(nurse, f"/cases/{other}/follow-ups/{ids['finished']}/done", other)
    _post(nurse, f"/cases/{sharps_case}/follow-ups/{ids['dropped']}/cancel", sharps_case)
    return ids


def _list_ids(html: str, table: str) -> list[int]:
    found = re.search(rf'<table class="queue" id="{table}">.*?</table>', html, re.S)
    return [int(i) for i in re.findall(r'<tr id="follow-up-(\d+)"', found.group(0))] if found else []


def test_the_list_shows_overdue_first_then_the_next_two_weeks(browser_for, planned):
    lead = browser_for("lead")
    page = lead.get("/follow-ups").text
    assert _list_ids(page, "overdue-list") == [planned["late"], planned["yesterday"]]
    assert _list_ids(page, "due-list") == [planned["today"], planned["soon"], planned["edge"]]
    assert "1 more due after Monday 7 December" in _text(page)
    late = _text(re.search(rf'<tr id="follow-up-{planned["late"]}".*?</tr>', page, re.S).group(0))
    assert "Saturday 14 November" in late and "Overdue" in late and "Task late" in late
    assert "Nobody yet" in late  # the owner
    assert re.search(r'href="/cases/SH-\d+#follow-ups"', page)
    assert 'href="/follow-ups" aria-current="page"' in page  # the nav link, and the tab


def test_the_done_and_cancelled_tabs_and_done_from_the_list(browser_for, planned, session, clock):
    nurse = browser_for("practitioner")
    page = nurse.get("/follow-ups?state=done").text
    assert _list_ids(page, "done-list") == [planned["finished"]] and "overdue-list" not in page
    assert _list_ids(nurse.get("/follow-ups?state=cancelled").text, "cancelled-list") == [planned["dropped"]]
    assert _list_ids(nurse.get("/follow-ups?state=nonsense").text, "overdue-list") == [
        planned["late"], planned["yesterday"]]
    ref = session.get(FollowUp, planned["late"]).case.ref
    clock.advance(minutes=5)
    r = nurse.post(f"/cases/{ref}/follow-ups/{planned['late']}/done",
                   data={"csrf_token": token_of(nurse, "/follow-ups"), "next": "/follow-ups"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/follow-ups?done=follow_up_done"
    page = nurse.get(r.headers["location"]).text
    assert "Follow-up marked as done." in page and planned["late"] not in _list_ids(page, "overdue-list")
    assert _list_ids(nurse.get("/follow-ups?state=done").text, "done-list") == [  # the latest closed first
        planned["late"], planned["finished"]]


def test_the_dashboard_counts_overdue_and_due_today(browser_for, planned):
    box = re.search(r'<p class="alert alert-error" id="follow-up-counts">.*?</p>',
                    browser_for("practitioner").get("/dashboard").text, re.S)
    assert box and _text(box.group(0)).strip() == "Follow-ups: 2 overdue, 1 due today"
    assert 'href="/follow-ups"' in box.group(0)


def test_the_dashboard_box_with_nothing_planned(browser_for, world):
    page = browser_for("lead").get("/dashboard").text
    assert re.search(r'<p class="alert" id="follow-up-counts"><a href="/follow-ups">Follow-ups: 0 overdue, '
                     r'0 due today</a></p>', page)


def test_only_practitioners_and_clinical_leads_see_or_change_follow_ups(browser_for, sharps_case, session, web):
    manager = browser_for("manager")
    assert manager.get("/follow-ups").status_code == 403
    assert "Follow-ups" not in manager.get("/").text.split("<main")[0]  # no nav link
    token = token_of(manager, "/")
    r = manager.post(f"/cases/{sharps_case}/follow-ups", data={"what": "x", "due_on": "2026-12-01",
                                                                "csrf_token": token})
    assert r.status_code == 403
    assert browser_for("admin").get("/follow-ups").status_code == 403
    nurse = browser_for("practitioner")
    assert nurse.post(f"/cases/{sharps_case}/follow-ups", data={"what": "x", "due_on": "2026-12-01"}).status_code == 403
    assert web.get("/follow-ups", follow_redirects=False).headers["location"].startswith("/login")
    assert _stored(session) == []
