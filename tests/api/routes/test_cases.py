from __future__ import annotations

import pytest

from tests.api.factories import HIV_NEEDLESTICK, organisation, standard_rota


@pytest.fixture
def rota(session, clock):
    people = standard_rota(session, now=clock.now)
    organisation(session, now=clock.now)
    session.commit()
    return people


def test_create_sharps_case_emergency_pages_and_returns_ref(client, rota, clock):
    r = client.post("/api/cases", json={
        "line": "sharps", "channel": "web", "conversation_id": "conv-1", "organisation_code": "y00001",
        "contact": {"name": "Sam", "phone": "+447700900555"},
        "answers": {**HIV_NEEDLESTICK, "occurred_at": "2026-11-23T13:30:00+00:00"},
    })
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["ref"] == "SH-000001"
    assert body["urgency"] == "emergency" and body["status"] == "escalated"
    assert body["decision"]["go_to_emergency_department"] is True
    assert body["decision"]["pep_window_open"] is True
    assert body["decision"]["hours_since_exposure"] == 0.5
    assert "hiv_pep" in body["decision"]["rules_fired"]
    assert body["decision"]["rule_version"] == body["rule_version"]
    assert [(p["tier"], p["practitioner"]["name"]) for p in body["pages"]] == [("primary", "Alex Primary")]
    assert body["organisation"]["code"] == "Y00001"
    assert body["on_call"]["name"] == "Alex Primary"

    events = client.get(f"/api/cases/{body['ref']}/events").json()
    assert [e["type"] for e in events][:4] == ["case_created", "triaged", "status_changed", "page_sent"]


def test_refs_count_per_line(client, rota):
    a = client.post("/api/cases", json={"line": "sharps", "answers": {"exposure_type": "intact_skin"}}).json()
    b = client.post("/api/cases", json={"line": "manager", "kind": "advice", "answers": {"topic": "x"}}).json()
    c = client.post("/api/cases", json={"line": "sharps", "answers": {"exposure_type": "intact_skin"}}).json()
    assert (a["ref"], b["ref"], c["ref"]) == ("SH-000001", "MA-000001", "SH-000002")


def test_routine_case_is_triaged_without_a_page(client, rota):
    r = client.post("/api/cases", json={"line": "sharps", "answers": {
        "exposure_type": "percutaneous", "fluid": "blood", "device": {"kind": "hollow_bore_needle", "used": False}}})
    assert r.status_code == 201
    assert (r.json()["urgency"], r.json()["status"], r.json()["pages"]) == ("routine", "triaged", [])


def test_patch_merges_answers_and_retriages(client, rota):
    ref = client.post("/api/cases", json={"line": "sharps", "answers": {"exposure_type": "percutaneous"}}).json()["ref"]
    r = client.patch(f"/api/cases/{ref}", json={"answers": {"fluid": "blood", "source": {"hiv": "positive"}}})
    assert r.status_code == 200
    body = r.json()
    assert body["answers"]["exposure_type"] == "percutaneous"
    assert body["answers"]["source"] == {"hiv": "positive"}
    assert body["urgency"] == "emergency"
    r = client.patch(f"/api/cases/{ref}", json={"answers": {"source": {"hcv": "negative"}}})
    assert r.json()["answers"]["source"] == {"hiv": "positive", "hcv": "negative"}


def test_unknown_organisation_is_422_naming_the_field(client, rota):
    r = client.post("/api/cases", json={"line": "sharps", "organisation_code": "NOPE"})
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "organisation_code"]


@pytest.mark.parametrize("answers, loc", [
    ({"exposure_type": "stabbed"}, ["body", "answers", "exposure_type"]),
    ({"fluid": "lava"}, ["body", "answers", "fluid"]),
    ({"device": {"kind": "spoon"}}, ["body", "answers", "device", "kind"]),
    ({"source": {"hiv": "maybe"}}, ["body", "answers", "source", "hiv"]),
    ({"occurred_at": "yesterday-ish"}, ["body", "answers", "occurred_at"]),
    ({"occurred_at": "2026-11-23T10:00:00"}, ["body", "answers", "occurred_at"]),
])
def test_bad_sharps_answers_are_422_naming_the_field(client, answers, loc):
    r = client.post("/api/cases", json={"line": "sharps", "answers": answers})
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == loc
    assert r.json()["detail"][0]["msg"]


def test_bad_line_is_422(client):
    r = client.post("/api/cases", json={"line": "dental"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "line"]


def test_referral_without_consent_is_refused(client, rota):
    r = client.post("/api/cases", json={"line": "manager", "kind": "referral",
                                        "answers": {"employee_name": "J", "reason": "other"}})
    assert r.status_code == 422
    assert {tuple(d["loc"]) for d in r.json()["detail"]} == {
        ("body", "answers", "consent"), ("body", "answers", "consent_reason_explained")}
    r = client.post("/api/cases", json={"line": "manager", "kind": "referral",
                                        "answers": {"consent": False, "consent_reason_explained": True}})
    assert r.status_code == 422


def test_referral_with_consent_routes_and_reports_status(client, rota):
    r = client.post("/api/cases", json={"line": "manager", "kind": "referral", "answers": {
        "employee_name": "Jo Bloggs", "consent": True, "consent_reason_explained": True,
        "reason": "musculoskeletal", "complex": True}})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["ref"] == "MA-000001" and body["decision"]["route"] == "physician"
    status = client.get("/api/cases/ma-000001/status")
    assert status.status_code == 200
    read = status.json()
    assert read["ref"] == "MA-000001" and "answers" not in read
    # One status in the manager pages' words, then what happens next: no second status, no raw time.
    assert read["status_words"] == "Received"
    assert read["summary"] == "OH will be in touch." or read["summary"].startswith("The on-call")


def test_crisis_case_is_emergency_and_pages(client, rota):
    r = client.post("/api/cases", json={"line": "manager", "kind": "crisis", "answers": {"crisis": True}})
    assert r.status_code == 201
    assert r.json()["urgency"] == "emergency" and len(r.json()["pages"]) == 1


def test_crisis_words_in_a_sharps_case_raise_it(client, rota):
    ref = client.post("/api/cases", json={"line": "sharps", "answers": {"exposure_type": "intact_skin"}}).json()["ref"]
    r = client.patch(f"/api/cases/{ref}", json={"summary": "i just want to end it all"})
    assert r.json()["urgency"] == "emergency"
    assert "crisis" in r.json()["decision"]["rules_fired"]


def test_unknown_ref_is_404(client):
    for method, path in [("get", "/api/cases/SH-999999"), ("patch", "/api/cases/SH-999999"),
                         ("get", "/api/cases/SH-999999/status"), ("post", "/api/cases/SH-999999/events")]:
        kwargs = {"json": {"answers": {}}} if method == "patch" else {}
        if path.endswith("events"):
            kwargs = {"json": {"note": "x"}}
        r = getattr(client, method)(path, **kwargs)
        assert r.status_code == 404, path
        assert "SH-999999" in r.json()["detail"]


def test_list_filters(client, rota):
    client.post("/api/cases", json={"line": "sharps", "answers": HIV_NEEDLESTICK})
    client.post("/api/cases", json={"line": "sharps", "answers": {"exposure_type": "intact_skin"}})
    client.post("/api/cases", json={"line": "manager", "kind": "advice", "answers": {"topic": "x"}})
    assert client.get("/api/cases").json()["count"] == 3
    assert [c["ref"] for c in client.get("/api/cases?urgency=emergency").json()["data"]] == ["SH-000001"]
    assert client.get("/api/cases?line=manager").json()["count"] == 1
    assert client.get("/api/cases?status=nonsense").status_code == 422


def test_note_and_status_changes(client, rota):
    ref = client.post("/api/cases", json={"line": "sharps", "answers": {"exposure_type": "intact_skin"}}).json()["ref"]
    r = client.post(f"/api/cases/{ref}/events", json={"note": "called back, advice given", "actor": "Alex"})
    # The actor is the caller the token proves (the operator), never the name in the body.
    assert r.status_code == 201 and r.json()["type"] == "note" and r.json()["actor"] == "operator"
    r = client.post(f"/api/cases/{ref}/events", json={"note": "rating", "actor": "bot", "rating": 4})
    assert r.json()["type"] == "rating" and r.json()["details"] == {"score": 4}
    assert client.post(f"/api/cases/{ref}/events", json={"note": "x", "rating": 9}).status_code == 422
    assert client.post(f"/api/cases/{ref}/status", json={"status": "acknowledged"}).status_code == 409
    r = client.post(f"/api/cases/{ref}/status", json={"status": "closed", "outcome": "advice_only"})
    assert r.status_code == 200 and r.json()["status"] == "closed" and r.json()["closed_at"]


def test_everything_under_api_needs_the_token(anon):
    for method, path in [("get", "/api/cases"), ("post", "/api/cases"), ("post", "/api/triage/sharps"),
                         ("get", "/api/rota/now"), ("post", "/api/pages/1/ack"), ("get", "/api/organisations")]:
        r = anon.request(method.upper(), path, json={})
        assert r.status_code == 401, path
    r = anon.get("/api/cases", headers={"Authorization": "Bearer wrong"})
    assert r.status_code == 401


def test_health_needs_no_token(anon):
    assert anon.get("/health").json() == {"status": "ok"}


@pytest.mark.parametrize("named, code", [
    ("Riverside Medical Practice", "Y00001"),
    ("riverside surgery", "Y00001"),
    ("y00001", "Y00001"),
    ("Riverside", "Y00001"),
    ("somewhere else entirely", None),
    ("", None),
])
def test_workplace_in_own_words_is_matched_or_left_for_a_person(client, rota, named, code):
    r = client.post("/api/cases", json={"line": "sharps",
                                        "answers": {"exposure_type": "intact_skin", "workplace": named}})
    assert r.status_code == 201
    assert (r.json()["organisation"] or {}).get("code") == code
    types = [e["type"] for e in client.get(f"/api/cases/{r.json()['ref']}/events").json()]
    if named:
        assert ("organisation_matched" if code else "organisation_unmatched") in types


def test_ambiguous_workplace_is_not_guessed(client, rota, session, clock):
    organisation(session, "Y00009", name="Riverside Health Centre", now=clock.now)
    session.commit()
    r = client.post("/api/cases", json={"line": "manager", "kind": "referral", "answers": {
        "consent": True, "consent_reason_explained": True, "organisation_name": "riverside"}})
    assert r.json()["organisation"] is None
    r = client.patch(f"/api/cases/{r.json()['ref']}",
                     json={"answers": {"organisation_name": "Riverside Health Centre"}})
    assert r.json()["organisation"]["code"] == "Y00009"
