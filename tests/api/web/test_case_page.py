"""/cases/{ref}: the whole picture, and the actions through the allowed transitions only."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest

from api.domain.case_lifecycle import ALLOWED
from api.services import casework
from tests.api.factories import HIV_NEEDLESTICK
from tests.api.web.builders import message
from tests.api.web.conftest import confirm_organisation, csrf_from, sign_in, token_of


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
    select = re.search(rf'<select [^>]*name="{name}"[^>]*>(.*?)</select>', html, re.S).group(1)
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
    assert past.status_code == 400 and "The follow-up date must be today or in the future" in past.text
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
    assert refused.status_code == 400 and "Confirm the referral&#39;s organisation" in refused.text
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


# --- the on-call practitioner's phone: act first, read after -------------------------------------

def _bar(html: str) -> str:
    return re.search(r'<section class="action-bar" id="actions".*?</section>', html, re.S).group(0)


def test_the_action_bar_comes_before_the_facts_with_every_first_action(browser_for, emergency):
    html = browser_for("lead").get(f"/cases/{emergency}").text  # the lead neither owns it nor was paged first
    bar = _bar(html)
    assert html.index('id="actions"') < html.index('id="decision"') < html.index('class="case-side"')
    assert html.index('id="actions"') < html.index('class="case-facts"')
    assert re.search(rf'<form method="post" action="/cases/{emergency}/take">', bar)
    assert '<a class="btn btn-primary" href="tel:+447700900555" data-action="call">Call Sam' in bar
    assert "07700 900555" in bar  # the number as people read it
    assert 'href="#note"' in bar and 'id="note"' in html  # "Add a note" goes to the note form
    nurse = browser_for("practitioner")  # paged, and a pending page waits for her
    bar = _bar(nurse.get(f"/cases/{emergency}").text)
    assert f'action="/cases/{emergency}/acknowledge"' in bar and 'data-action="acknowledge"' in bar
    assert bar.index('data-action="acknowledge"') < bar.index('data-action="call"')


def test_no_call_link_without_a_number_and_no_acknowledge_once_acknowledged(browser_for, client):
    ref = client.post("/api/cases", json={"line": "sharps", "answers": HIV_NEEDLESTICK,
                                          "contact": {"name": "Sam"}}).json()["ref"]
    nurse = browser_for("practitioner")
    html = nurse.get(f"/cases/{ref}").text
    assert "tel:" not in html and "No number yet" in html
    assert 'data-action="acknowledge"' in _bar(html)
    assert nurse.post(f"/cases/{ref}/acknowledge", data={"csrf_token": csrf_from(html)},
                      follow_redirects=False).status_code == 303
    after = nurse.get(f"/cases/{ref}?done=acknowledged").text
    assert 'data-action="acknowledge"' not in after and "Page acknowledged." in after
    assert after.index("Page acknowledged.") < after.index('id="actions"')  # said at the top


def test_a_refused_close_names_the_field_and_keeps_what_was_typed(browser_for, emergency, client):
    nurse = browser_for("practitioner")
    token = token_of(nurse)
    r = nurse.post(f"/cases/{emergency}/close", data={"outcome": "", "follow_up_on": "2027-01-04",
                                                      "note": "PEP started <in ED>", "csrf_token": token})
    assert r.status_code == 400 and r.text.count('class="error-summary"') == 1
    assert '<a href="#outcome">Choose an outcome</a>' in r.text
    assert "<title>Error: " in r.text
    assert re.search(r'<select id="outcome" name="outcome" aria-invalid="true" aria-describedby="outcome-error">',
                     r.text)
    assert 'id="outcome-error"' in r.text
    assert 'value="2027-01-04"' in r.text  # the date and the note kept, the note escaped
    assert '<textarea id="close-note" name="note" rows="2" maxlength="4000">PEP started &lt;in ED&gt;</textarea>' \
        in r.text
    past = nurse.post(f"/cases/{emergency}/close", data={"outcome": "pep_started", "follow_up_on": "2026-11-01",
                                                         "csrf_token": token})
    assert '<a href="#follow_up_on">' in past.text
    assert re.search(r'<option value="pep_started" selected>', past.text)
    bad = nurse.post(f"/cases/{emergency}/close", data={"outcome": "pep_started", "follow_up_on": "4/1/27",
                                                        "csrf_token": token})
    assert bad.status_code == 400 and '<a href="#follow_up_on">Enter the follow-up date as a real date' in bad.text
    assert client.get(f"/api/cases/{emergency}").json()["status"] == "escalated"


def test_other_refusals_point_at_their_own_field(browser_for, emergency):
    nurse = browser_for("practitioner")
    token = token_of(nurse)
    note = nurse.post(f"/cases/{emergency}/notes", data={"note": "  ", "csrf_token": token})
    assert note.status_code == 400 and '<a href="#note">Enter a note</a>' in note.text
    callback = nurse.post(f"/cases/{emergency}/callbacks", data={"result": "maybe", "note": "rang twice",
                                                                 "csrf_token": token})
    assert '<a href="#result">' in callback.text and ">rang twice</textarea>" in callback.text
    status = nurse.post(f"/cases/{emergency}/status", data={"status": "follow_up", "csrf_token": token})
    assert status.status_code == 409 and '<a href="#status">A case in status' in status.text
    nurse.post(f"/cases/{emergency}/acknowledge", data={"csrf_token": token})
    again = nurse.post(f"/cases/{emergency}/acknowledge", data={"csrf_token": token})
    assert again.status_code == 400 and '<a href="#actions">' in again.text  # no field: the action bar


def test_human_dates_for_what_people_read(browser_for, emergency, client):
    nurse = browser_for("practitioner")
    html = nurse.get(f"/cases/{emergency}").text
    assert "opened Monday 23 November, 14:00" in html
    assert re.search(r'id="pages".*<time datetime="[^"]+">14:00:00</time>', html, re.S)  # today: the time alone
    nurse.post(f"/cases/{emergency}/close", data={"outcome": "advice_only", "follow_up_on": "2027-01-04",
                                                  "csrf_token": token_of(nurse)})
    closed = nurse.get(f"/cases/{emergency}").text
    assert "Follow-up Monday 4 January 2027" in closed and "Advice only, Monday 23 November, 14:00" in closed


def test_the_page_text_links_to_the_case(emergency, session, settings):
    from api.models import OutboxMessage

    bodies = [m.body for m in session.query(OutboxMessage).filter(OutboxMessage.page_id.isnot(None))]
    link = f"{settings.public_base_url.rstrip('/')}/cases/{emergency}"
    assert bodies and all(body.endswith(f" Open: {link}") for body in bodies)


def test_the_link_signed_out_asks_once_then_opens_the_case(web, world, emergency):
    r = web.get(f"/cases/{emergency}", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/login?next=%2Fcases%2F{emergency}"
    login = web.get(r.headers["location"])
    assert f'name="next" value="/cases/{emergency}"' in login.text
    signed_in = sign_in(web, world["users"]["practitioner"].email, next=f"/cases/{emergency}")
    assert (signed_in.status_code, signed_in.headers["location"]) == (303, f"/cases/{emergency}")
    page = web.get(f"/cases/{emergency}")
    assert page.status_code == 200 and 'data-action="acknowledge"' in page.text
