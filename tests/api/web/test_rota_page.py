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
    assert "Ola Other" in html and "from Tue 24 Nov 00:00" in html  # next primary
    # Gap: from Tue 24 Nov 12:00 to the end of the 14 days.
    assert 'class="card card-alarm"' in html
    assert "Tue 24 Nov 12:00 → Mon 07 Dec 14:00" in html
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
    assert admin.post("/rota/shifts", data={"practitioner_id": other.id, "tier": "tertiary",
                                            "starts_at": "2026-11-24T00:00", "ends_at": "2026-11-24T12:00",
                                            "csrf_token": token}).status_code == 400
    assert admin.post(f"/rota/shifts/{shift_id}/delete", data={"csrf_token": token},
                      follow_redirects=False).status_code == 303
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
