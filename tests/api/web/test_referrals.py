"""Managers: make a referral online, follow it (one status in their words, whom it is about,
human dates), download the list."""
from __future__ import annotations

import csv
import io
import re

from sqlalchemy import select

from api.models import Case
from api.services import referrals
from tests.api.web.conftest import confirm_organisation, token_of

FORM = {"employee_name": "R. Patel", "employee_role": "Receptionist", "employee_hours": "30",
        "reason": "musculoskeletal", "details": "Back pain, advice on adjustments", "phone": "07700 900456",
        "consent": "yes", "consent_reason_explained": "yes"}
ISO_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


def _send(manager, **changes):
    data = {**FORM, **changes, "csrf_token": token_of(manager, "/referrals/new")}
    return manager.post("/referrals/new", data={k: v for k, v in data.items() if v is not None},
                        follow_redirects=False)


def _ref(response) -> str:
    return response.headers["location"].split("/")[-1]


def test_manager_makes_a_referral_for_their_organisation(browser_for, client, world):
    manager = browser_for("manager")
    r = _send(manager)
    assert r.status_code == 303 and r.headers["location"].startswith("/referrals/sent/")
    ref = _ref(r)
    body = client.get(f"/api/cases/{ref}").json()
    assert (body["line"], body["kind"], body["channel"]) == ("manager", "referral", "web")
    assert body["organisation"]["code"] == "Y00001"
    assert body["contact"]["phone"] == "+447700900456" and body["contact"]["name"] == "Mo Manager"
    assert body["answers"]["consent"] is True and body["answers"]["reason"] == "musculoskeletal"
    assert ref in manager.get("/referrals").text
    assert ref not in browser_for("other_manager").get("/referrals").text


def test_the_confirmation_page_names_the_reference_and_what_happens_next(browser_for):
    manager = browser_for("manager")
    r = _send(manager)
    ref = _ref(r)
    page = manager.get(r.headers["location"])
    assert page.status_code == 200
    html = page.text
    assert '<div class="panel">' in html and "<h1>Referral sent</h1>" in html
    assert f'Your reference<br><span class="panel-ref">{ref}</span>' in html
    assert "What happens next" in html and "R. Patel" in html
    assert f'href="/referrals/{ref}"' in html and 'href="/referrals"' in html
    # Another organisation's manager cannot read it.
    assert browser_for("other_manager").get(r.headers["location"]).status_code == 403


def test_a_referral_needs_consent(browser_for, client):
    manager = browser_for("manager")
    r = _send(manager, consent="")
    assert r.status_code == 400 and 'href="#consent"' in r.text
    assert client.get("/api/cases").json()["count"] == 0


def test_a_form_with_problems_says_which_fields_and_keeps_everything_typed(browser_for, client):
    manager = browser_for("manager")
    r = _send(manager, employee_name="  ", reason="", phone="12345", consent=None,
              details="Keeps <this> & that", employee_role="Porter", employee_hours="Nights")
    assert r.status_code == 400
    html = r.text
    assert "<title>Error: " in html and 'class="error-summary"' in html
    summary = html[html.index('class="error-summary"'):html.index("</ul>")]
    assert re.findall(r'href="#([a-z_]+)"', summary) == ["employee_name", "reason", "phone", "consent"]
    assert "Enter the employee&#39;s name" in summary and "Enter a UK phone number, like 07700 900 982" in summary
    for field in ("employee_name", "reason", "phone", "consent", "consent_reason_explained", "employee_role",
                  "employee_hours", "details"):
        assert f'id="{field}"' in html, field
    assert 'id="phone-error"' in html and 'aria-describedby="phone-error phone-hint"' in html
    assert 'value="12345"' in html and 'value="Porter"' in html and 'value="Nights"' in html
    assert "Keeps &lt;this&gt; &amp; that</textarea>" in html
    # The box that was ticked stays ticked; the one that was not stays empty.
    assert re.search(r'id="consent_reason_explained"[^>]*checked', html)
    assert not re.search(r'id="consent"[^>]*checked', html)
    assert client.get("/api/cases").json()["count"] == 0


def test_typed_values_and_both_ticks_are_kept(browser_for):
    manager = browser_for("manager")
    r = _send(manager, reason="mental_health", phone="not a number")
    assert r.status_code == 400
    assert 'value="R. Patel"' in r.text and '<option value="mental_health" selected>' in r.text
    assert re.search(r'id="consent"[^>]*checked', r.text)
    assert re.search(r'id="consent_reason_explained"[^>]*checked', r.text)


def test_phone_is_optional_but_must_be_a_uk_number(browser_for, client):
    manager = browser_for("manager")
    for bad in ("+33 1 23 45 67 89", "0770090", "call me"):
        assert _send(manager, phone=bad).status_code == 400, bad
    ref = _ref(_send(manager, phone="+44 (0)7700 900 982"))
    assert client.get(f"/api/cases/{ref}").json()["contact"]["phone"] == "+447700900982"
    ref = _ref(_send(manager, phone="020 7946 0000"))
    assert client.get(f"/api/cases/{ref}").json()["contact"]["phone"] == "+442079460000"
    ref = _ref(_send(manager, phone=""))
    assert client.get(f"/api/cases/{ref}").json()["contact"].get("phone") is None


def test_uk_phone_number():
    assert referrals.uk_phone_number("07700 900 982") == "+447700900982"
    assert referrals.uk_phone_number("0300 123 4567") == "+443001234567"
    assert referrals.uk_phone_number("+1 202 555 0100") is None
    assert referrals.uk_phone_number("07700 90098") is None
    assert referrals.uk_phone_number("abc07700900982") is None


def _status(session, ref: str, status: str) -> None:
    case = session.scalars(select(Case).where(Case.ref == ref)).one()
    case.status = status
    session.commit()


def test_the_list_shows_whom_it_is_about_and_one_status_in_words(browser_for, session):
    manager = browser_for("manager")
    ref = _ref(_send(manager))
    html = manager.get("/referrals").text
    row = html[html.index(f'href="/referrals/{ref}"'):]
    row = row[:row.index("</tr>")]
    assert "R. Patel" in row and "Received" in row
    assert "Monday 23 November, 14:00" in row  # opened, in words (the fixed clock)
    assert not ISO_TIME.search(html)
    _status(session, ref, "in_progress")
    html = manager.get("/referrals").text
    assert "A practitioner is looking at it" in html and "Received" not in html


def test_the_detail_page_shows_the_same_one_status_and_human_milestones(browser_for, session, clock):
    manager, nurse = browser_for("manager"), browser_for("practitioner")
    ref = _ref(_send(manager))
    page = manager.get(f"/referrals/{ref}").text
    assert "R. Patel" in page and "<strong>Received</strong>" in page
    assert "Received by occupational health: Monday 23 November, 14:00" in page
    assert not ISO_TIME.search(page)
    clock.advance(hours=2)
    r = nurse.post(f"/cases/{ref}/release", data={"report": "Fit for work.", "csrf_token": token_of(nurse)},
                   follow_redirects=False)
    assert r.status_code == 303
    page = manager.get(f"/referrals/{ref}").text
    assert "<strong>Outcome report available</strong>" in page
    assert "Outcome report released to you: Monday 23 November, 16:00" in page
    assert "Received</strong>" not in page
    assert "Outcome report available" in manager.get("/referrals").text


def test_status_words_come_from_one_place(session, browser_for):
    manager = browser_for("manager")
    ref = _ref(_send(manager))
    case = session.scalars(select(Case).where(Case.ref == ref)).one()
    expected = {"open": "Received", "triaged": "Received", "acknowledged": "A practitioner is looking at it",
                "in_progress": "A practitioner is looking at it", "follow_up": "Follow-up planned",
                "closed": "Closed"}
    for status, words in expected.items():
        case.status = status
        assert referrals.referral_status(case, None) == words, status
    assert referrals.referral_status(case, object()) == "Outcome report available"


def test_manager_downloads_their_referrals(browser_for, client, world, session):
    mine = client.post("/api/cases", json={"line": "manager", "kind": "advice", "organisation_code": "Y00001",
                                           "answers": {"topic": "=cmd|' /C calc'!A0"}}).json()["ref"]
    theirs = client.post("/api/cases", json={"line": "manager", "kind": "advice", "organisation_code": "FA001",
                                             "answers": {"topic": "x"}}).json()["ref"]
    nurse = browser_for("practitioner")
    confirm_organisation(nurse, mine, "Y00001")
    confirm_organisation(nurse, theirs, "FA001")
    manager = browser_for("manager")
    made = _ref(_send(manager, employee_name="=Jo Bloggs"))
    _status(session, made, "in_progress")
    r = manager.get("/referrals.csv")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(r.text)))
    assert rows[0] == ["ref", "employee_name", "kind", "opened", "status", "closed", "outcome_report_released"]
    assert sorted(row[0] for row in rows[1:]) == sorted([mine, made])
    by_ref = {row[0]: row for row in rows[1:]}
    assert by_ref[made][1] == "'=Jo Bloggs"  # a name is never a formula
    assert by_ref[made][4] == "A practitioner is looking at it" and by_ref[mine][4] == "Received"
    assert ISO_TIME.match(by_ref[made][3])  # machine-friendly times in the file
    assert theirs not in r.text and "calc" not in r.text  # answers never leave in the manager's list
