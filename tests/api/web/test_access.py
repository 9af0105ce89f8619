"""Who may open what: anonymous use refused everywhere, roles, CSRF, the session cookie."""
from __future__ import annotations

import re

from fastapi.routing import APIRoute
from starlette.routing import Mount, Route

from api.main import create_app
from tests.api.factories import HIV_NEEDLESTICK
from tests.api.web.conftest import PASSWORD, confirm_organisation, sign_in, token_of

# Open by design: health, the sign-in form, the public web chat and its assets, the signed Twilio webhooks,
# and the set-password page, which a one-time link opens (tests/api/web/test_accounts.py).
OPEN = re.compile(r"^/(health$|login$|chat(/|$)|static/chat(/|$)|twilio/|account/set-password/)")
STATIC = re.compile(r"^/static/(web|docs)(/|$)")  # the pages' and the API docs' assets: public files


def _walk(routes, prefix=""):
    for route in routes:
        if isinstance(route, (APIRoute, Route)):
            yield prefix + route.path, set(route.methods or ())
        elif isinstance(route, Mount):
            yield prefix + route.path, {"GET"}
        elif hasattr(route, "original_router"):  # FastAPI's included routers
            context = getattr(route, "include_context", None)
            yield from _walk(route.original_router.routes, prefix + (getattr(context, "prefix", "") or ""))


def _all_routes(app):
    seen = {}
    for path, methods in _walk(app.router.routes):
        seen.setdefault(path, set()).update(methods - {"HEAD", "OPTIONS"})
    return seen


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", lambda m: "1" if "id" in m.group(0) else "SH-000001", path)


def test_every_route_refuses_anonymous_use(app, web, world):
    routes = _all_routes(app)
    checked = 0
    assert "/dashboard" in routes and "/api/cases" in routes and "/docs" in routes
    for path, methods in sorted(routes.items()):
        if OPEN.match(path) or STATIC.match(path):
            continue
        url = _concrete(path)
        for method in sorted(methods):
            r = web.request(method, url, follow_redirects=False)
            if r.status_code == 303:
                assert r.headers["location"].startswith("/login?next="), (method, path)
            else:
                assert r.status_code == 401, (method, path, r.status_code, r.text[:200])
            checked += 1
    assert checked > 40


def test_anonymous_page_is_sent_to_sign_in_and_back(web, world):
    r = web.get("/cases/SH-000001?x=1", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login?next=%2Fcases%2FSH-000001%3Fx%3D1"
    r = sign_in(web, world["users"]["practitioner"].email, next="/rota")
    assert (r.status_code, r.headers["location"]) == (303, "/rota")


def test_htmx_poll_without_a_session_redirects_the_whole_page(web):
    r = web.get("/dashboard/queue", headers={"HX-Request": "true"})
    assert r.status_code == 401 and r.headers["HX-Redirect"].startswith("/login")


def test_sign_in_never_redirects_off_site(web, world):
    for target in ("//evil.example/x", "https://evil.example", "/\\evil.example"):
        web.cookies.clear()
        r = sign_in(web, world["users"]["practitioner"].email, next=target)
        assert r.headers["location"] == "/dashboard", target


def test_docs_need_a_user_or_the_token(app, web, client, browser_for):
    for path in ("/docs", "/redoc", "/openapi.json"):
        assert web.get(path).status_code == 401
        assert client.get(path).status_code == 200  # the API token
        assert browser_for("admin").get(path).status_code == 200
    assert "/api/cases" in client.get("/openapi.json").json()["paths"]


def test_manager_sees_only_their_own_organisation(client, browser_for, world):
    ref_a = client.post("/api/cases", json={"line": "manager", "kind": "advice", "organisation_code": "Y00001",
                                            "answers": {"topic": "return to work"}}).json()["ref"]
    ref_b = client.post("/api/cases", json={"line": "manager", "kind": "advice", "organisation_code": "FA001",
                                            "answers": {"topic": "adjustments"}}).json()["ref"]
    nurse = browser_for("practitioner")
    for ref, code in ((ref_a, "Y00001"), (ref_b, "FA001")):
        assert confirm_organisation(nurse, ref, code).status_code == 303  # bound by a person
    manager = browser_for("manager")
    assert manager.get(f"/referrals/{ref_a}").status_code == 200
    r = manager.get(f"/referrals/{ref_b}")
    assert r.status_code == 403 and "another organisation" in r.text
    listing = manager.get("/referrals").text
    assert ref_a in listing and ref_b not in listing
    assert browser_for("other_manager").get(f"/referrals/{ref_a}").status_code == 403
    # Managers never see the clinical pages, nor a staff member the managers' list.
    for path in ("/dashboard", f"/cases/{ref_a}", "/rota", "/reports", "/reports/volume.csv"):
        assert manager.get(path).status_code == 403, path
    assert browser_for("practitioner").get("/referrals").status_code == 403


def test_sharps_cases_are_not_referrals(client, browser_for, world):
    ref = client.post("/api/cases", json={"line": "sharps", "organisation_code": "Y00001",
                                          "answers": HIV_NEEDLESTICK}).json()["ref"]
    assert browser_for("manager").get(f"/referrals/{ref}").status_code == 404


def test_practitioner_cannot_edit_the_rota_but_lead_and_admin_can(browser_for, world, session):
    shift = {"practitioner_id": str(world["people"]["other"].id), "tier": "primary",
             "starts_at": "2026-11-30T08:00", "ends_at": "2026-11-30T20:00"}
    nurse = browser_for("practitioner")
    token = token_of(nurse, "/rota")
    assert 'action="/rota/shifts"' not in nurse.get("/rota").text
    assert nurse.post("/rota/shifts", data={**shift, "csrf_token": token}).status_code == 403
    assert nurse.post("/rota/shifts/1/delete", data={"csrf_token": token}).status_code == 403
    assert nurse.post("/rota/shifts/1", data={**shift, "csrf_token": token}).status_code == 403
    assert nurse.get("/rota/shifts/1/edit").status_code == 403
    for role in ("lead", "admin"):
        editor = browser_for(role)
        r = editor.post("/rota/shifts", data={**shift, "csrf_token": token_of(editor, "/rota")},
                        follow_redirects=False)
        assert (r.status_code, r.headers["location"]) == (303, "/rota?done=added"), role


def _posts(ref: str) -> list[tuple[str, dict]]:
    return [
        ("/logout", {}), (f"/cases/{ref}/acknowledge", {}), (f"/cases/{ref}/take", {}),
        (f"/cases/{ref}/notes", {"note": "x"}), (f"/cases/{ref}/callbacks", {"result": "reached"}),
        (f"/cases/{ref}/status", {"status": "in_progress"}),
        (f"/cases/{ref}/close", {"outcome": "advice_only"}), (f"/cases/{ref}/release", {"report": "x"}),
        ("/rota/shifts", {"practitioner_id": "1", "tier": "primary", "starts_at": "2026-11-30T08:00",
                          "ends_at": "2026-11-30T20:00"}),
        ("/rota/shifts/1", {"practitioner_id": "1", "tier": "primary", "starts_at": "2026-11-30T08:00",
                            "ends_at": "2026-11-30T20:00"}),
        ("/rota/shifts/1/delete", {}),
    ]


def test_posts_without_a_valid_csrf_token_are_refused(client, browser_for, world, session):
    ref = client.post("/api/cases", json={"line": "sharps", "answers": HIV_NEEDLESTICK}).json()["ref"]
    lead = browser_for("lead")
    for path, data in _posts(ref):
        assert lead.post(path, data=data).status_code == 403, path
        assert lead.post(path, data={**data, "csrf_token": "forged"}).status_code == 403, path
        assert lead.post(path, data=data, headers={"X-CSRF-Token": "forged"}).status_code == 403, path
    manager = browser_for("manager")
    assert manager.post("/referrals/new", data={"employee_name": "A", "reason": "other", "consent": "yes",
                                                "consent_reason_explained": "yes"}).status_code == 403
    # Nothing changed: no note, still signed in.
    assert client.get(f"/api/cases/{ref}/events").json()[-1]["type"] != "note"
    assert lead.get("/dashboard").status_code == 200
    # The header works for htmx; the form field for plain forms.
    token = token_of(lead)
    assert lead.post(f"/cases/{ref}/notes", data={"note": "via htmx"}, headers={"X-CSRF-Token": token,
                                                                              "HX-Request": "true"}).status_code == 200
    assert lead.post(f"/cases/{ref}/notes", data={"note": "via form", "csrf_token": token},
                     follow_redirects=False).status_code == 303


def test_sign_in_form_needs_its_csrf_token(web, world):
    web.get("/login")
    r = web.post("/login", data={"email": world["users"]["admin"].email, "password": PASSWORD})
    assert r.status_code == 403 and "oh_session" not in r.cookies
    r = web.post("/login", data={"email": world["users"]["admin"].email, "password": PASSWORD,
                                 "csrf_token": "forged"})
    assert r.status_code == 403


def test_session_cookie_flags(web, world):
    r = sign_in(web, world["users"]["admin"].email)
    cookie = next(v for k, v in r.headers.multi_items() if k == "set-cookie" and v.startswith("oh_session="))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie.replace("Lax", "lax") and "Secure" not in cookie


def test_session_cookie_is_secure_in_production(tmp_path, clock, session_factory, settings, world):
    prod = settings.model_copy(update={"environment": "production"})
    application = create_app(prod, clock=clock)
    application.state.session_factory = session_factory
    from fastapi.testclient import TestClient

    with TestClient(application, base_url="https://testserver") as browser:
        r = sign_in(browser, world["users"]["admin"].email)
        cookie = next(v for k, v in r.headers.multi_items() if k == "set-cookie" and v.startswith("oh_session="))
        assert "Secure" in cookie and "HttpOnly" in cookie


def test_sign_out_ends_the_session_even_for_a_copied_cookie(app, browser_for, clock):
    from fastapi.testclient import TestClient

    nurse = browser_for("practitioner")
    stolen = nurse.cookies.get("oh_session")
    clock.advance(seconds=1)
    r = nurse.post("/logout", data={"csrf_token": token_of(nurse)}, follow_redirects=False)
    assert (r.status_code, r.headers["location"]) == (303, "/login")
    with TestClient(app, cookies={"oh_session": stolen}) as replay:
        assert replay.get("/dashboard", follow_redirects=False).status_code == 303


def test_tampered_or_expired_cookies_are_refused(app, browser_for, clock):
    from fastapi.testclient import TestClient

    nurse = browser_for("practitioner")
    value = nurse.cookies.get("oh_session")
    with TestClient(app, cookies={"oh_session": value[:-2] + ("AA" if value[-2:] != "AA" else "BB")}) as forged:
        assert forged.get("/dashboard", follow_redirects=False).status_code == 303
    clock.advance(hours=12, seconds=1)
    assert nurse.get("/dashboard", follow_redirects=False).status_code == 303


def test_pages_carry_security_headers(browser_for):
    r = browser_for("lead").get("/dashboard")
    assert "default-src 'self'" in r.headers["content-security-policy"]
    assert r.headers["x-frame-options"] == "DENY" and r.headers["cache-control"] == "no-store"
    assert 'src="/static/web/htmx.min.js"' in r.text and "cdn" not in r.text.lower()


def test_static_assets_are_served_locally(web):
    r = web.get("/static/web/htmx.min.js")
    assert r.status_code == 200 and "htmx" in r.text[:200]
    assert web.get("/static/web/web.css").status_code == 200
