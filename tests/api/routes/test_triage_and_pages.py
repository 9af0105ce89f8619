from __future__ import annotations

from tests.api.factories import HIV_NEEDLESTICK, standard_rota


def test_triage_sharps_is_a_pure_decision(client, clock):
    r = client.post("/api/triage/sharps", json={**HIV_NEEDLESTICK, "occurred_at": "2026-11-20T13:00:00+00:00"})
    assert r.status_code == 200
    body = r.json()
    assert body["urgency"] == "urgent"  # 73 h: past the PEP window
    assert body["pep_window_open"] is False and body["go_to_emergency_department"] is False
    assert "hiv_pep_window_closed" in body["rules_fired"]
    assert set(body) >= {"urgency", "go_to_emergency_department", "page_on_call", "pep_window_open", "advice",
                         "rules_fired", "rule_version"}
    assert client.get("/api/cases").json()["count"] == 0


def test_triage_rejects_unknown_values(client):
    r = client.post("/api/triage/sharps", json={"exposure_type": "bitten-ish"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "exposure_type"]


def test_ack_page(client, session, clock):
    standard_rota(session, now=clock.now)
    case = client.post("/api/cases", json={"line": "sharps", "answers": HIV_NEEDLESTICK}).json()
    page_id = case["pages"][0]["id"]
    clock.advance(seconds=90)
    r = client.post(f"/api/pages/{page_id}/ack", json={"by": "Alex Primary"})
    assert r.status_code == 200 and r.json()["status"] == "acknowledged"
    # Who acknowledged is the caller the token proves, not the name sent in the body.
    assert r.json()["acknowledged_by"] == "operator"
    again = client.post(f"/api/pages/{page_id}/ack")
    assert again.status_code == 200 and again.json()["acknowledged_at"] == r.json()["acknowledged_at"]
    assert client.get(f"/api/cases/{case['ref']}").json()["status"] == "acknowledged"
    assert client.post("/api/pages/9999/ack").status_code == 404
