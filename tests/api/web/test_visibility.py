"""Who sees what: admins keep the rota and the accounts but no clinical content; a referral reaches
an organisation's managers only once a person has bound it to that organisation."""
from __future__ import annotations

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, text

from api.models import Case, CaseEvent
from tests.api.factories import HIV_NEEDLESTICK
from tests.api.web.builders import message
from tests.api.web.conftest import confirm_organisation, sign_in, token_of

# What the bot sends for a referral made in the chat: the workplace is whatever the person typed.
BOT_REFERRAL = {"line": "manager", "kind": "referral", "channel": "web", "conversation_id": "web-anonymous-1",
                "answers": {"employee_name": "R. Patel", "reason": "other", "consent": True,
                            "consent_reason_explained": True, "organisation_name": "riverside"}}


def _bot_referral(client) -> str:
    body = client.post("/api/cases", json=BOT_REFERRAL).json()
    assert body["organisation"]["code"] == "Y00001"  # matched, for the figures: only a suggestion
    return body["ref"]


def _sees(manager, ref: str) -> bool:
    listed = ref in manager.get("/referrals").text
    in_csv = ref in manager.get("/referrals.csv").text
    detail = manager.get(f"/referrals/{ref}").status_code
    assert listed == in_csv == (detail == 200), (listed, in_csv, detail)
    assert detail in (200, 403)
    return listed


# --- admins: rota and accounts, no clinical content ------------------------------------------

def test_admin_is_refused_case_pages_transcripts_the_queue_and_reports(client, browser_for, session, clock):
    ref = client.post("/api/cases", json={"line": "sharps", "channel": "sms", "conversation_id": "conv-7",
                                          "answers": HIV_NEEDLESTICK}).json()["ref"]
    message(session, "conv-7", "inbound", clock.now, channel="sms", text="needlestick from a patient with HIV")
    session.commit()
    admin = browser_for("admin")
    for path in (f"/cases/{ref}", f"/cases/{ref}#transcript", "/dashboard", "/dashboard/queue", "/reports",
                 "/reports/open_cases.csv", "/reports/volume.csv"):
        r = admin.get(path)
        assert r.status_code == 403, path
        assert ref not in r.text and "needlestick" not in r.text, path
    # The same pages are there for the clinical staff.
    for role in ("practitioner", "lead"):
        page = browser_for(role).get(f"/cases/{ref}")
        assert page.status_code == 200 and "needlestick from a patient with HIV" in page.text, role
        assert browser_for(role).get("/reports").status_code == 200, role


def test_admin_keeps_the_rota_and_lands_on_it(web, browser_for, world):
    r = sign_in(web, world["users"]["admin"].email)
    assert (r.status_code, r.headers["location"]) == (303, "/rota")
    admin = browser_for("admin")
    page = admin.get("/rota")
    assert page.status_code == 200
    nav = page.text.split('<nav class="nav"', 1)[1].split("</nav>", 1)[0]
    assert 'href="/rota"' in nav and 'href="/dashboard"' not in nav and 'href="/reports"' not in nav
    # Practitioners still land on the queue.
    web.cookies.clear()
    assert sign_in(web, world["users"]["practitioner"].email).headers["location"] == "/dashboard"


# --- referrals: bound by a person before a manager sees them -----------------------------------

def test_a_suggested_organisation_shows_the_referral_to_no_manager(client, browser_for):
    ref = _bot_referral(client)
    assert not _sees(browser_for("manager"), ref)  # Riverside's manager: only suggested
    assert not _sees(browser_for("other_manager"), ref)
    page = browser_for("practitioner").get(f"/cases/{ref}").text
    assert "Suggested: <strong>Riverside Medical Practice</strong>" in page
    assert "No manager sees this referral" in page
    assert "Outcome report for the manager" not in page  # nothing to release to nobody


def test_after_a_practitioner_confirms_that_organisations_manager_sees_it(client, browser_for, session):
    ref = _bot_referral(client)
    nurse = browser_for("practitioner")
    r = confirm_organisation(nurse, ref, "Y00001")
    assert (r.status_code, r.headers["location"]) == (303, f"/cases/{ref}?done=organisation")
    assert _sees(browser_for("manager"), ref)
    assert not _sees(browser_for("other_manager"), ref)
    session.expire_all()
    case = session.query(Case).filter_by(ref=ref).one()
    event = session.query(CaseEvent).filter_by(case_id=case.id, type="organisation_confirmed").one()
    assert event.actor == "Alex Primary (practitioner)" and event.details["code"] == "Y00001"
    assert event.details["suggested"] == "Y00001"
    assert "Outcome report for the manager" in nurse.get(f"/cases/{ref}").text


def test_a_practitioner_can_bind_another_organisation_than_the_suggestion(client, browser_for):
    ref = _bot_referral(client)
    assert confirm_organisation(browser_for("lead"), ref, "FA001").status_code == 303
    assert _sees(browser_for("other_manager"), ref)
    assert not _sees(browser_for("manager"), ref)
    assert client.get(f"/api/cases/{ref}").json()["organisation"]["code"] == "FA001"


def test_an_organisation_code_sent_to_the_api_is_only_a_suggestion(client, browser_for):
    ref = client.post("/api/cases", json={"line": "manager", "kind": "advice", "organisation_code": "Y00001",
                                          "answers": {"topic": "return to work"}}).json()["ref"]
    assert not _sees(browser_for("manager"), ref)


def test_a_managers_own_web_referral_is_bound_from_the_start(browser_for, client):
    manager = browser_for("manager")
    r = manager.post("/referrals/new", data={
        "employee_name": "R. Patel", "reason": "other", "consent": "yes", "consent_reason_explained": "yes",
        "csrf_token": token_of(manager, "/referrals/new")}, follow_redirects=False)
    ref = r.headers["location"].split("/")[-1].split("?")[0]
    assert _sees(manager, ref) and not _sees(browser_for("other_manager"), ref)
    events = [e["type"] for e in client.get(f"/api/cases/{ref}/events").json()]
    assert "organisation_confirmed" in events


def test_only_clinical_staff_confirm_and_only_a_real_organisation(client, browser_for):
    ref = _bot_referral(client)
    for role in ("admin", "manager"):
        browser = browser_for(role)
        token = token_of(browser, "/rota" if role == "admin" else "/referrals")
        assert browser.post(f"/cases/{ref}/organisation", data={"code": "Y00001", "csrf_token": token}
                            ).status_code == 403, role
    nurse = browser_for("practitioner")
    assert nurse.post(f"/cases/{ref}/organisation", data={"code": "Y00001"}).status_code == 403  # no CSRF token
    r = nurse.post(f"/cases/{ref}/organisation", data={"code": "NOPE1", "csrf_token": token_of(nurse)})
    assert r.status_code == 400 and "Choose an organisation" in r.text
    sharps = client.post("/api/cases", json={"line": "sharps", "answers": HIV_NEEDLESTICK}).json()["ref"]
    r = nurse.post(f"/cases/{sharps}/organisation", data={"code": "Y00001", "csrf_token": token_of(nurse)})
    assert r.status_code == 400
    assert not _sees(browser_for("manager"), ref)


# --- the migration -----------------------------------------------------------------------------

def test_upgrade_binds_referrals_managers_made_and_leaves_the_rest_suggested(database_url):
    cfg = Config("alembic.ini")
    cfg.attributes["database_url"] = database_url
    cfg.attributes["configure_logging"] = False
    command.upgrade(cfg, "0005")
    engine = create_engine(database_url)
    at = "2026-11-23 14:00:00+00:00"
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO organisation (id, code, name, type, created_at) "
                          "VALUES (1, 'Y00001', 'Riverside', 'gp_practice', :at)"), {"at": at})
        for case_id, ref, actor in ((1, "MA-000001", "Mo Manager (manager)"), (2, "MA-000002", "bot")):
            conn.execute(text(
                'INSERT INTO "case" (id, ref, line, kind, channel, status, organisation_id, contact, answers, '
                "provisional, escalation_round, created_at, updated_at) VALUES (:id, :ref, 'manager', 'referral', "
                "'web', 'open', 1, '{}', '{}', false, 0, :at, :at)"), {"id": case_id, "ref": ref, "at": at})
            conn.execute(text("INSERT INTO case_event (case_id, type, actor, description, details, created_at) "
                              "VALUES (:id, 'case_created', :actor, 'opened', '{}', :at)"),
                         {"id": case_id, "actor": actor, "at": at})
    command.upgrade(cfg, "head")
    with engine.connect() as conn:
        bound = dict(conn.execute(text('SELECT ref, confirmed_organisation_id FROM "case" ORDER BY ref')).all())
    assert bound == {"MA-000001": 1, "MA-000002": None}
    command.downgrade(cfg, "0005")
    engine.dispose()
