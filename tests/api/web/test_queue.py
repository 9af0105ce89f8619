"""/dashboard: open cases by urgency then waiting time, page status, one-click acknowledge/take."""
from __future__ import annotations

import re
from datetime import timedelta

from tests.api.factories import HIV_NEEDLESTICK
from tests.api.web.conftest import token_of

ROUTINE = {"exposure_type": "percutaneous", "fluid": "blood", "device": {"kind": "hollow_bore_needle", "used": False}}
URGENT = {"exposure_type": "mucocutaneous", "fluid": "blood", "source": {"identified": False}}


def _refs(html: str) -> list[str]:
    return re.findall(r'class="q-row[^"]*" data-ref="([A-Z]{2}-\d{6})"', html)


def _open(client, clock, answers, minutes_ago_step=0, **extra):
    body = client.post("/api/cases", json={"line": "sharps", "answers": {
        **answers, "occurred_at": (clock.now - timedelta(minutes=30)).isoformat()}, **extra}).json()
    clock.advance(minutes=minutes_ago_step)
    return body


def test_queue_sorts_by_urgency_then_waiting(client, browser_for, clock):
    routine = _open(client, clock, ROUTINE, 1)["ref"]
    urgent_old = _open(client, clock, URGENT, 1)["ref"]
    emergency_old = _open(client, clock, HIV_NEEDLESTICK, 1)["ref"]
    urgent_new = _open(client, clock, URGENT, 1)["ref"]
    emergency_new = _open(client, clock, HIV_NEEDLESTICK, 1)["ref"]
    html = browser_for("practitioner").get("/dashboard").text
    assert _refs(html) == [emergency_old, emergency_new, urgent_old, urgent_new, routine]


def test_queue_row_shows_page_status_and_emergency_stands_out(client, browser_for, clock, world):
    ref = _open(client, clock, HIV_NEEDLESTICK, organisation_code="Y00001", channel="sms")["ref"]
    clock.advance(minutes=6)
    html = browser_for("lead").get("/dashboard/queue").text
    row = re.search(rf'<tr class="[^"]*" data-ref="{ref}">.*?</tr>', html, re.S).group(0)
    assert "alarm" in row and "overdue" in row and "badge-emergency" in row
    assert "awaiting ack" in row and "Alex Primary" in row and "Primary · round 1" in row
    assert "Riverside Medical Practice" in row and "GP practice" in row and "sms" in row
    assert 'data-since="2026-11-23T14:00:00+00:00"' in row and "6m 00s" in row
    assert "past clock" in row
    assert "1</strong> emergency awaiting acknowledgement" in html


def test_closed_cases_leave_the_queue(client, browser_for, clock):
    ref = _open(client, clock, ROUTINE)["ref"]
    client.post(f"/api/cases/{ref}/status", json={"status": "closed", "actor": "t", "outcome": "advice_only"})
    assert ref not in browser_for("practitioner").get("/dashboard").text


def test_one_click_acknowledge_from_the_queue(client, browser_for, clock, world, session):
    ref = _open(client, clock, HIV_NEEDLESTICK)["ref"]
    nurse = browser_for("practitioner")
    clock.advance(minutes=2)
    r = nurse.post(f"/cases/{ref}/acknowledge", data={"next": "/dashboard"},
                   headers={"X-CSRF-Token": token_of(nurse), "HX-Request": "true"})
    assert r.status_code == 200 and "acknowledged" in r.text and f"{ref}: Page acknowledged." in r.text
    row = re.search(rf'<tr class="[^"]*" data-ref="{ref}">.*?</tr>', r.text, re.S).group(0)
    assert "Owner: Alex Primary" in row and 'data-action="acknowledge"' not in row and "alarm" not in row
    body = client.get(f"/api/cases/{ref}").json()
    assert body["status"] == "acknowledged" and body["owner"]["name"] == "Alex Primary"
    assert body["pages"][0]["acknowledged_by"] == "Alex Primary"
    events = client.get(f"/api/cases/{ref}/events").json()
    assert any(e["type"] == "page_acknowledged" and e["actor"] == "Alex Primary" for e in events)
    # Nothing left to acknowledge: a second click says so, and changes nothing.
    again = nurse.post(f"/cases/{ref}/acknowledge", data={"csrf_token": token_of(nurse)})
    assert again.status_code == 400 and "no page waiting" in again.text


def test_acknowledge_without_htmx_redirects_back(client, browser_for, clock):
    ref = _open(client, clock, HIV_NEEDLESTICK)["ref"]
    lead = browser_for("lead")
    r = lead.post(f"/cases/{ref}/acknowledge", data={"csrf_token": token_of(lead), "next": "/dashboard"},
                  follow_redirects=False)
    assert (r.status_code, r.headers["location"]) == (303, "/dashboard")
    # The lead acknowledged the primary's page; the lead owns it now.
    body = client.get(f"/api/cases/{ref}").json()
    assert body["owner"]["name"] == "Dr Lee Lead" and body["pages"][0]["acknowledged_by"] == "Dr Lee Lead"


def test_take_ownership_acknowledges_and_starts_work(client, browser_for, clock):
    ref = _open(client, clock, HIV_NEEDLESTICK)["ref"]
    lead = browser_for("lead")
    r = lead.post(f"/cases/{ref}/take", data={"csrf_token": token_of(lead)}, follow_redirects=False)
    assert r.headers["location"] == f"/cases/{ref}?done=owned"
    body = client.get(f"/api/cases/{ref}").json()
    assert (body["status"], body["owner"]["name"]) == ("in_progress", "Dr Lee Lead")
    assert body["pages"][0]["status"] == "acknowledged"


def test_admin_neither_reads_the_queue_nor_acts(client, browser_for, clock):
    ref = _open(client, clock, HIV_NEEDLESTICK)["ref"]
    admin = browser_for("admin")
    for path in ("/dashboard", "/dashboard/queue"):
        r = admin.get(path)
        assert r.status_code == 403 and ref not in r.text, path
    assert admin.post(f"/cases/{ref}/acknowledge", data={"csrf_token": token_of(admin, "/rota")}).status_code == 403


def test_new_cases_appear_in_the_polled_fragment(client, browser_for, clock):
    nurse = browser_for("practitioner")
    page = nurse.get("/dashboard").text
    assert 'hx-get="/dashboard/queue"' in page and 'hx-trigger="every 4s"' in page
    assert "No open cases" in nurse.get("/dashboard/queue").text
    ref = _open(client, clock, HIV_NEEDLESTICK)["ref"]
    fragment = nurse.get("/dashboard/queue", headers={"HX-Request": "true"}).text
    assert ref in fragment and "<html" not in fragment
