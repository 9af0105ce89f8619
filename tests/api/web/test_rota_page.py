"""/rota: on call now and next, gaps in the next 14 days, shifts added, edited and removed."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from api.models import RotaShift
from api.services import rota_board
from tests.api.factories import shift
from tests.api.web.conftest import token_of


def test_on_call_now_next_and_gaps(browser_for, world, session, clock):
    people = world["people"]
    # Standard rota: primary and backup from 12:00 to 00:00. Add a primary from 00:00 to 12:00 tomorrow.
    shift(session, people["other"], tier="primary", start=clock.now + timedelta(hours=10))
    session.commit()
    html = browser_for("practitioner").get("/rota").text
    assert "Alex Primary" in html and "Bea Backup" in html and "Dr Lee Lead" in html
    assert "Ola Other" in html and "from Tuesday 24 November, 00:00" in html  # next primary
    # Gap: from Tuesday 24 November 12:00 to the end of the 14 days.
    assert 'class="card card-alarm"' in html
    assert "Tuesday 24 November, 12:00 to Monday 7 December, 14:00" in html
    assert html.count("Europe/London") == 1  # the time zone, said once
    assert 'fill="#d5281b"' in html  # red in the cover strip
    assert "Only administrators and clinical leads can change the rota." in html


def test_primary_gaps_are_exact(world, session, clock):
    people = world["people"]
    shift(session, people["other"], tier="primary", start=clock.now + timedelta(hours=12), hours=24)
    shift(session, people["backup"], tier="backup", start=clock.now + timedelta(hours=36), hours=48)
    session.commit()
    board = rota_board.board(session, now=clock.now)
    # Primary until now+10h (standard rota), then nobody until Ola from now+12h to now+36h; a backup is no cover.
    assert [(g.start - clock.now, g.end - clock.now) for g in board.gaps] == [
        (timedelta(hours=10), timedelta(hours=12)), (timedelta(hours=36), timedelta(days=14))]


def test_inactive_practitioners_do_not_cover(world, session, clock):
    people = world["people"]
    people["primary"].active = False
    session.commit()
    board = rota_board.board(session, now=clock.now)
    assert board.gaps[0].start == clock.now and not board.on_call.primary


def test_admin_adds_edits_and_removes_a_shift(browser_for, world, session, clock):
    admin = browser_for("admin")
    token = token_of(admin, "/rota")
    other = world["people"]["other"]
    r = admin.post("/rota/shifts", data={"practitioner_id": other.id, "tier": "primary",
                                          "starts_at": "2026-11-24T00:00", "ends_at": "2026-11-24T12:00",
                                          "csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303
    added = session.scalars(select(RotaShift).where(RotaShift.practitioner_id == other.id)).one()
    shift_id = added.id
    assert added.starts_at.isoformat() == "2026-11-24T00:00:00+00:00"  # London is on GMT in November
    assert "Edit shift" in admin.get(f"/rota/shifts/{added.id}/edit").text
    r = admin.post(f"/rota/shifts/{added.id}", data={"practitioner_id": other.id, "tier": "backup",
                                                      "starts_at": "2026-11-24T06:00", "ends_at": "2026-11-24T18:00",
                                                      "csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303
    session.expire_all()
    edited = session.get(RotaShift, added.id)
    assert (edited.tier, edited.starts_at.hour, edited.ends_at.hour) == ("backup", 6, 18)
    bad = admin.post(f"/rota/shifts/{added.id}", data={"practitioner_id": other.id, "tier": "backup",
                                                        "starts_at": "2026-11-24T18:00", "ends_at": "2026-11-24T06:00",
                                                        "csrf_token": token})
    assert bad.status_code == 400 and "end after it starts" in bad.text
    assert 'href="#ends_at"' in bad.text and 'value="2026-11-24T18:00"' in bad.text  # kept as typed
    assert admin.post("/rota/shifts", data={"practitioner_id": other.id, "tier": "tertiary",
                                            "starts_at": "2026-11-24T00:00", "ends_at": "2026-11-24T12:00",
                                            "csrf_token": token}).status_code == 400
    r = admin.post(f"/rota/shifts/{shift_id}/delete", data={"csrf_token": token}, follow_redirects=False)
    assert (r.status_code, r.headers["location"]) == (303, "/rota?done=removed")
    assert "Shift removed." in admin.get(r.headers["location"]).text
    session.expire_all()
    assert session.get(RotaShift, shift_id) is None
    assert admin.post("/rota/shifts/99999/delete", data={"csrf_token": token}).status_code == 404


def test_summer_time_input_is_read_as_london_time(browser_for, world, session):
    lead = browser_for("lead")
    lead.post("/rota/shifts", data={"practitioner_id": world["people"]["other"].id, "tier": "primary",
                                    "starts_at": "2027-06-01T08:00", "ends_at": "2027-06-01T20:00",
                                    "csrf_token": token_of(lead, "/rota")})
    added = session.scalars(select(RotaShift).order_by(RotaShift.id.desc())).first()
    assert added.starts_at.isoformat() == "2027-06-01T07:00:00+00:00"


def _typed(other_id: int, **changes) -> dict[str, str]:
    return {"practitioner_id": str(other_id), "tier": "backup", "starts_at": "2026-11-25T18:00",
            "ends_at": "2026-11-25T06:00", **changes}


def _kept(html: str, typed: dict[str, str]) -> None:
    assert f'<option value="{typed["practitioner_id"]}" selected>' in html
    assert f'<option value="{typed["tier"]}" selected>' in html
    assert f'id="starts_at" name="starts_at" value="{typed["starts_at"]}"' in html
    assert f'id="ends_at" name="ends_at" value="{typed["ends_at"]}"' in html


def test_a_bad_time_range_is_an_error_summary_and_keeps_what_was_typed(browser_for, world, session):
    admin = browser_for("admin")
    typed = _typed(world["people"]["other"].id)
    r = admin.post("/rota/shifts", data={**typed, "csrf_token": token_of(admin, "/rota")})
    assert r.status_code == 400
    html = r.text
    assert "<title>Error: " in html and 'class="error-summary"' in html
    assert '<a href="#ends_at">The shift must end after it starts</a>' in html
    assert 'id="ends_at-error"' in html and 'aria-invalid="true" aria-describedby="ends_at-error"' in html
    _kept(html, typed)
    typed_id = int(typed["practitioner_id"])
    assert session.scalars(select(RotaShift).where(RotaShift.practitioner_id == typed_id)).all() == []


def test_each_field_has_its_own_message(browser_for, world):
    lead = browser_for("lead")
    token = token_of(lead, "/rota")
    r = lead.post("/rota/shifts", data={"practitioner_id": "", "tier": "primary", "starts_at": "",
                                        "ends_at": "tomorrow", "csrf_token": token})
    assert r.status_code == 400
    assert '<a href="#practitioner_id">Select a practitioner from the list</a>' in r.text
    assert '<a href="#starts_at">Enter the date and time the shift starts</a>' in r.text
    assert 'href="#ends_at">Enter the date and time the shift ends, like' in r.text and 'value="tomorrow"' in r.text
    too_long = lead.post("/rota/shifts", data={**_typed(world["people"]["other"].id, ends_at="2026-12-05T06:00"),
                                               "csrf_token": token})
    assert too_long.status_code == 400 and '<a href="#ends_at">A shift can be at most 7 days long</a>' in too_long.text
    unknown = lead.post("/rota/shifts", data={**_typed(99999, ends_at="2026-11-26T06:00"), "csrf_token": token})
    assert unknown.status_code == 400 and 'href="#practitioner_id"' in unknown.text
    assert 'value="2026-11-26T06:00"' in unknown.text


def test_editing_with_a_problem_keeps_the_edit_not_the_saved_shift(browser_for, world, session, clock):
    other = world["people"]["other"]
    saved = shift(session, other, tier="primary", start=clock.now + timedelta(days=2))
    session.commit()
    admin = browser_for("admin")
    page = admin.get(f"/rota/shifts/{saved.id}/edit").text
    assert f'<option value="{other.id}" selected>' in page and '<option value="primary" selected>' in page
    typed = _typed(world["people"]["backup"].id)
    r = admin.post(f"/rota/shifts/{saved.id}", data={**typed, "csrf_token": token_of(admin, "/rota")})
    assert r.status_code == 400 and f'action="/rota/shifts/{saved.id}"' in r.text and "Edit shift" in r.text
    _kept(r.text, typed)
    session.expire_all()
    assert session.get(RotaShift, saved.id).tier == "primary"  # unchanged


def test_removing_asks_on_a_page_of_its_own_first(browser_for, world, session, clock):
    other = world["people"]["other"]
    doomed = shift(session, other, tier="primary", start=clock.now + timedelta(hours=10))
    session.commit()
    doomed_id = doomed.id
    admin = browser_for("admin")
    rota = admin.get("/rota").text
    assert f'href="/rota/shifts/{doomed_id}/remove"' in rota and "data-confirm" not in rota
    page = admin.get(f"/rota/shifts/{doomed_id}/remove")
    assert page.status_code == 200
    html = page.text
    assert "<h1>Remove this shift?</h1>" in html and "Ola Other" in html and "Primary" in html
    assert "Tuesday 24 November, 00:00" in html and "Tuesday 24 November, 12:00" in html
    assert f'action="/rota/shifts/{doomed_id}/delete"' in html and 'class="btn btn-warning"' in html
    assert 'href="/rota"' in html
    session.expire_all()
    assert session.get(RotaShift, doomed_id) is not None  # asking removes nothing
    r = admin.post(f"/rota/shifts/{doomed_id}/delete", data={"csrf_token": token_of(admin, "/rota")},
                   follow_redirects=False)
    assert r.status_code == 303
    session.expire_all()
    assert session.get(RotaShift, doomed_id) is None
    assert admin.get(f"/rota/shifts/{doomed_id}/remove").status_code == 404
    assert browser_for("practitioner").get("/rota/shifts/1/remove").status_code == 403
