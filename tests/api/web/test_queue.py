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
    row = re.search(rf'<tr class="[^"]*" data-ref="{ref}"[^>]*>.*?</tr>', html, re.S).group(0)
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
    row = re.search(rf'<tr class="[^"]*" data-ref="{ref}"[^>]*>.*?</tr>', r.text, re.S).group(0)
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


def _row(html: str, ref: str) -> str:
    return re.search(rf'<tr class="[^"]*" data-ref="{ref}"[^>]*>.*?</tr>', html, re.S).group(0)


def _version(html: str) -> str:
    return re.search(r'data-version="([0-9a-f]+)"', html).group(1)


def test_every_queue_control_has_a_stable_id_to_put_focus_back_on(client, browser_for, clock):
    ref = _open(client, clock, HIV_NEEDLESTICK)["ref"]
    first = browser_for("lead").get("/dashboard/queue").text
    row = _row(first, ref)
    for key in (f"ref-{ref}", f"ack-{ref}", f"take-{ref}", f"open-{ref}"):
        assert f'id="{key}"' in row, key
    clock.advance(seconds=20)
    assert re.findall(r'id="([^"]+)"', _row(browser_for("lead").get("/dashboard/queue").text, ref)) == \
        re.findall(r'id="([^"]+)"', row)
    # Each control names its case for someone tabbing through, and says what it does first.
    assert f'aria-label="Acknowledge the page for {ref}">Acknowledge</button>' in row
    assert f'aria-label="Open {ref}">Open</a>' in row


def test_version_moves_when_a_row_changes_not_when_only_time_passes(client, browser_for, clock):
    ref = _open(client, clock, HIV_NEEDLESTICK)["ref"]
    nurse = browser_for("practitioner")
    before = nurse.get("/dashboard/queue").text
    clock.advance(seconds=40)
    later = nurse.get("/dashboard/queue").text
    assert _version(later) == _version(before)
    assert re.search(r"Updated \d\d:\d\d:\d\d", later) and "40s" in later  # the clock and ages did move

    clock.advance(minutes=5)  # past the emergency's 5-minute clock: the row now says so
    overdue = nurse.get("/dashboard/queue").text
    assert "past clock" in _row(overdue, ref) and _version(overdue) != _version(later)

    other = _open(client, clock, URGENT)["ref"]
    arrived = nurse.get("/dashboard/queue").text
    assert other in arrived and _version(arrived) != _version(overdue)

    acked = nurse.post(f"/cases/{ref}/acknowledge", headers={"X-CSRF-Token": token_of(nurse), "HX-Request": "true"})
    assert _version(acked.text) != _version(arrived)
    assert _version(nurse.get("/dashboard/queue").text) == _version(acked.text)


def test_new_cases_are_announced_outside_the_refreshed_part(client, browser_for, clock):
    page = browser_for("practitioner").get("/dashboard").text
    announcer = re.search(r'<div id="queue-announcer"([^>]*)></div>', page)
    assert announcer and 'aria-live="polite"' in announcer.group(1) and 'aria-atomic="true"' in announcer.group(1)
    assert "role=" not in announcer.group(1)
    queue_open = re.search(r'<div id="queue"([^>]*)>', page, re.S)
    assert announcer.start() < queue_open.start(), "the announcer must not be replaced by a refresh"
    # The refreshed part is not a live region: the ages tick and the "Updated" clock moves.
    assert "aria-live" not in queue_open.group(1) and "aria-live" not in page[queue_open.start():]
    assert 'hx-trigger="every 4s"' in queue_open.group(1) and 'data-poll-seconds="4"' in queue_open.group(1)


def test_each_row_carries_the_sentence_that_announces_it(client, browser_for, clock):
    emergency = _open(client, clock, HIV_NEEDLESTICK)["ref"]
    nurse = browser_for("practitioner")
    row = _row(nurse.get("/dashboard/queue").text, emergency)
    assert re.search(rf'data-announce="New emergency case {emergency}: sharps injury, blood, source HIV\+, '
                     r'[0-9.]+h ago\. Awaiting acknowledgement\."', row)
    nurse.post(f"/cases/{emergency}/acknowledge", headers={"X-CSRF-Token": token_of(nurse), "HX-Request": "true"})
    assert re.search(rf'data-announce="New emergency case {emergency}: sharps injury, [^"]*h ago\."',
                     _row(nurse.get("/dashboard/queue").text, emergency))


def test_queue_table_has_headers_and_a_caption(client, browser_for, clock):
    ref = _open(client, clock, URGENT)["ref"]
    html = browser_for("practitioner").get("/dashboard/queue").text
    head = re.search(r"<thead>(.*?)</thead>", html, re.S).group(1)
    headers = re.findall(r"<th([^>]*)>", head)
    assert len(headers) == 8 and all('scope="col"' in h for h in headers)
    assert re.search(r"<caption[^>]*>Open cases, most urgent first, then longest waiting</caption>", html)
    # The case reference heads its row, so a screen reader names the case in every cell.
    assert re.search(rf'<th scope="row"[^>]*><a class="ref" id="ref-{ref}"', _row(html, ref))
    # The waiting time ticks in the browser, outside any live region.
    assert re.search(r'<time class="age" data-since="[^"]+" datetime="[^"]+">', html) and "aria-live" not in html


def test_without_javascript_the_queue_refreshes_by_link_and_its_buttons_post(client, browser_for, clock):
    ref = _open(client, clock, HIV_NEEDLESTICK)["ref"]
    nurse = browser_for("practitioner")
    page = nurse.get("/dashboard").text
    assert '<a id="queue-refresh" href="/dashboard">Refresh the queue</a>' in page
    form = re.search(rf'<form method="post" action="/cases/{ref}/acknowledge".*?</form>', page, re.S).group(0)
    fields = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', form))
    assert fields["next"] == f"/dashboard?done=acknowledged&amp;ref={ref}"
    r = nurse.post(f"/cases/{ref}/acknowledge", data={"csrf_token": fields["csrf_token"],
                                                      "next": f"/dashboard?done=acknowledged&ref={ref}"},
                   follow_redirects=False)
    assert (r.status_code, r.headers["location"]) == (303, f"/dashboard?done=acknowledged&ref={ref}")
    back = nurse.get(r.headers["location"]).text
    assert f"{ref}: Page acknowledged." in back
    assert client.get(f"/api/cases/{ref}").json()["pages"][0]["acknowledged_by"] == "Alex Primary"
    # The message comes only from the queue's own actions, about a reference.
    for query in ("done=closed&ref=" + ref, "done=acknowledged&ref=<b>x</b>"):
        assert "alert-ok" not in nurse.get(f"/dashboard?{query}").text, query


def test_after_an_htmx_action_the_message_can_take_focus(client, browser_for, clock):
    ref = _open(client, clock, HIV_NEEDLESTICK)["ref"]
    nurse = browser_for("practitioner")
    r = nurse.post(f"/cases/{ref}/take", headers={"X-CSRF-Token": token_of(nurse), "HX-Request": "true"})
    assert re.search(rf'<div id="queue-flash" class="alert alert-ok" role="status" tabindex="-1">{ref}: '
                     r"You now own this case.</div>", r.text)
    assert f'id="take-{ref}"' not in r.text and f'id="open-{ref}"' in r.text
