"""/cases/{ref}: the whole picture, and the actions through the allowed transitions only."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest

from api.domain.case_lifecycle import ALLOWED
from api.services import casework
from tests.api.factories import HIV_NEEDLESTICK
from tests.api.web.builders import message
from tests.api.web.conftest import confirm_organisation, token_of


@pytest.fixture
def emergency(client, clock, world, session):
    body = client.post("/api/cases", json={
        "line": "sharps", "channel": "sms", "conversation_id": "conv-9", "organisation_code": "Y00001",
        "contact": {"name": "Sam", "phone": "07700 900555"},
        "answers": {**HIV_NEEDLESTICK, "occurred_at": (clock.now - timedelta(minutes=30)).isoformat()}}).json()
    message(session, "conv-9", "inbound", clock.now - timedelta(minutes=2), channel="sms",
            text="needlestick from an HIV positive patient")
    message(session, "conv-9", "outbound", clock.now - timedelta(minutes=1), channel="sms",
            text="Go to the emergency department now.")
    session.commit()
    client.patch(f"/api/cases/{body['ref']}", json={"answers": {"source": {"hbv": "unknown"}}})
    return body["ref"]


def _options(html: str, name: str) -> list[str]:
    select = re.search(rf'<select name="{name}"[^>]*>(.*?)</select>', html, re.S).group(1)
    return [v for v in re.findall(r'<option value="([^"]*)"', select) if v]


def test_case_page_shows_the_whole_picture(browser_for, emergency):
    html = browser_for("practitioner").get(f"/cases/{emergency}").text
    rules = re.search(r'<table class="plain" id="rules-fired">.*?</table>', html, re.S).group(0)
    assert "hiv_pep" in rules and "BHIVA/BASHH" in rules and "first_aid" in rules
    assert "Source: HSE sharps injuries guidance" in html
    assert "needlestick from an HIV positive patient" in html and "msg-outbound" in html
    assert "Hollow bore needle" not in html and "hollow bore needle" in html  # codes made readable
    # the answer history, by the caller the API token proved (the operator's token here)
    assert "first answers from operator" in html and "more answers from operator" in html
    assert "Source › hbv" in html
    assert "Mon 23 Nov 2026 13:30" in html  # occurred_at in local time, not ISO text
    assert "Page sent" in html and "Triaged" in html  # the audit timeline
    assert re.search(r'id="pages".*Alex Primary.*pending', html, re.S)
    assert "+447700900555" in html


def test_only_allowed_targets_are_offered(browser_for, emergency, client):
    nurse = browser_for("practitioner")
    html = nurse.get(f"/cases/{emergency}").text  # escalated
    assert _options(html, "status") == ["in_progress"]
    assert set(_options(html, "status")) <= {str(s) for s in ALLOWED["escalated"]}
    client.post(f"/api/cases/{emergency}/status", json={"status": "in_progress", "actor": "t"})
    assert _options(nurse.get(f"/cases/{emergency}").text, "status") == ["follow_up"]


def test_server_rechecks_the_transition(browser_for, emergency, client):
    nurse = browser_for("practitioner")
    token = token_of(nurse)
    r = nurse.post(f"/cases/{emergency}/status", data={"status": "follow_up", "csrf_token": token})
    assert r.status_code == 409 and "cannot move to &#39;follow_up&#39;" in r.text
    for target in ("escalated", "acknowledged", "closed"):  # allowed by the lifecycle or not, never by hand
        assert nurse.post(f"/cases/{emergency}/status", data={"status": target, "csrf_token": token}).status_code == 409
    assert nurse.post(f"/cases/{emergency}/status", data={"status": "nonsense", "csrf_token": token}).status_code == 400
    assert client.get(f"/api/cases/{emergency}").json()["status"] == "escalated"
    ok = nurse.post(f"/cases/{emergency}/status", data={"status": "in_progress", "csrf_token": token},
                    follow_redirects=False)
    assert ok.status_code == 303 and client.get(f"/api/cases/{emergency}").json()["status"] == "in_progress"


def test_note_and_call_back_are_recorded_with_the_person(browser_for, emergency, client):
    nurse = browser_for("practitioner")
    token = token_of(nurse)
    assert nurse.post(f"/cases/{emergency}/notes", data={"note": "Advised ED", "csrf_token": token},
                      follow_redirects=False).status_code == 303
    assert nurse.post(f"/cases/{emergency}/notes", data={"note": "   ", "csrf_token": token}).status_code == 400
    r = nurse.post(f"/cases/{emergency}/callbacks", data={"result": "reached", "note": "on way to ED",
                                                          "csrf_token": token}, follow_redirects=False)
    assert r.headers["location"] == f"/cases/{emergency}?done=callback"
    assert nurse.post(f"/cases/{emergency}/callbacks", data={"result": "maybe", "csrf_token": token}).status_code == 400
    events = client.get(f"/api/cases/{emergency}/events").json()
    note = next(e for e in events if e["type"] == "note")
    callback = next(e for e in events if e["type"] == "call_back")
    assert (note["description"], note["actor"]) == ("Advised ED", "Alex Primary (practitioner)")
    assert callback["details"] == {"result": "reached", "note": "on way to ED", "phone": "+447700900555"}
    page = nurse.get(f"/cases/{emergency}?done=callback").text
    assert "Call-back recorded." in page and "call-back: reached the caller — on way to ED" in page


def test_close_with_outcome_and_follow_up(browser_for, emergency, client, session):
    nurse = browser_for("practitioner")
    token = token_of(nurse)
    html = nurse.get(f"/cases/{emergency}").text
    assert _options(html, "outcome") == list(casework.OUTCOMES)
    assert nurse.post(f"/cases/{emergency}/close", data={"outcome": "", "csrf_token": token}).status_code == 400
    assert nurse.post(f"/cases/{emergency}/close", data={"outcome": "cured", "csrf_token": token}).status_code == 400
    past = nurse.post(f"/cases/{emergency}/close", data={"outcome": "pep_started", "follow_up_on": "2026-11-01",
                                                          "csrf_token": token})
    assert past.status_code == 400 and "in the past" in past.text
    r = nurse.post(f"/cases/{emergency}/close", data={"outcome": "pep_started", "follow_up_on": "2027-01-04",
                                                      "note": "PEP in ED", "csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303
    body = client.get(f"/api/cases/{emergency}").json()
    assert (body["status"], body["outcome"]) == ("closed", "pep_started")
    assert all(p["status"] != "pending" for p in body["pages"])
    from api.models import Case

    session.expire_all()
    assert str(session.query(Case).filter_by(ref=emergency).one().follow_up_on) == "2027-01-04"
    events = client.get(f"/api/cases/{emergency}/events").json()
    assert events[-1]["type"] == "outcome_recorded" and events[-1]["details"]["follow_up_on"] == "2027-01-04"
    closed_page = nurse.get(f"/cases/{emergency}").text
    assert "PEP started" in closed_page and "Reopen" in closed_page and 'id="close-form"' not in closed_page


def test_release_outcome_to_the_manager(client, browser_for, world):
    ref = client.post("/api/cases", json={"line": "manager", "kind": "advice", "organisation_code": "Y00001",
                                          "answers": {"topic": "return to work after surgery"}}).json()["ref"]
    nurse, manager = browser_for("practitioner"), browser_for("manager")
    refused = nurse.post(f"/cases/{ref}/release", data={"report": "Too soon.", "csrf_token": token_of(nurse)})
    assert refused.status_code == 400 and "confirm the referral&#39;s organisation" in refused.text
    assert confirm_organisation(nurse, ref, "Y00001").status_code == 303
    assert "not released an outcome report yet" in manager.get(f"/referrals/{ref}").text
    r = nurse.post(f"/cases/{ref}/release", data={"report": "Fit for work with adjusted duties for 4 weeks.",
                                                  "csrf_token": token_of(nurse)}, follow_redirects=False)
    assert r.status_code == 303
    page = manager.get(f"/referrals/{ref}").text
    assert "Fit for work with adjusted duties for 4 weeks." in page
    assert "return to work after surgery" not in page  # the manager sees the report, not the case notes
    assert "available" in manager.get("/referrals").text


def test_sharps_cases_have_no_report_to_release(browser_for, emergency):
    nurse = browser_for("practitioner")
    assert "Outcome report for the manager" not in nurse.get(f"/cases/{emergency}").text
    r = nurse.post(f"/cases/{emergency}/release", data={"report": "x", "csrf_token": token_of(nurse)})
    assert r.status_code == 400


def test_unknown_case_is_a_404_page(browser_for):
    r = browser_for("practitioner").get("/cases/SH-999999")
    assert r.status_code == 404 and "Not found" in r.text
