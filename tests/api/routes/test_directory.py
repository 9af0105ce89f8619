from __future__ import annotations

from datetime import timedelta


def test_organisation_crud_and_search(client):
    r = client.post("/api/organisations", json={"code": "y12345", "name": "Elm Tree Surgery", "type": "gp_practice"})
    assert r.status_code == 201 and r.json()["code"] == "Y12345"
    org_id = r.json()["id"]
    dup = client.post("/api/organisations", json={"code": "Y12345", "name": "Dup", "type": "gp_practice"})
    assert dup.status_code == 409
    assert client.post("/api/organisations", json={"code": "Y1", "name": "X", "type": "dentist"}).status_code == 422
    assert [o["code"] for o in client.get("/api/organisations?q=elm").json()] == ["Y12345"]
    assert client.patch(f"/api/organisations/{org_id}", json={"name": "Elm Tree"}).json()["name"] == "Elm Tree"
    assert client.get("/api/organisations/999").status_code == 404
    assert client.delete(f"/api/organisations/{org_id}").status_code == 204


def test_practitioner_mobile_is_normalised_and_checked(client):
    r = client.post("/api/practitioners", json={"name": "Kim", "role": "nurse", "mobile": "07911 123456"})
    assert r.status_code == 201 and r.json()["mobile"] == "+447911123456"
    bad = client.post("/api/practitioners", json={"name": "Kim", "role": "nurse", "mobile": "not-a-number"})
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "mobile"]
    dup = client.post("/api/practitioners", json={"name": "K2", "role": "nurse", "mobile": "+447911123456"})
    assert dup.status_code == 409


def test_rota_shifts_and_who_is_on_call_now(client, clock):
    p = client.post("/api/practitioners", json={"name": "Kim", "role": "nurse", "mobile": "07911 123456"}).json()
    lead = client.post("/api/practitioners",
                       json={"name": "Dr L", "role": "clinical_lead", "mobile": "07911 654321"}).json()
    assert client.get("/api/rota/now").json()["nobody_on_call"] is True
    start = (clock.now - timedelta(hours=1)).isoformat()
    end = (clock.now + timedelta(hours=11)).isoformat()
    r = client.post("/api/rota/shifts",
                    json={"practitioner_id": p["id"], "tier": "primary", "starts_at": start, "ends_at": end})
    assert r.status_code == 201
    now = client.get("/api/rota/now").json()
    assert [x["name"] for x in now["primary"]] == ["Kim"] and now["nobody_on_call"] is False
    assert [x["name"] for x in now["clinical_leads"]] == ["Dr L"]
    backwards = client.post("/api/rota/shifts",
                            json={"practitioner_id": p["id"], "tier": "primary", "starts_at": end, "ends_at": start})
    assert backwards.status_code == 422
    ghost = client.post("/api/rota/shifts",
                        json={"practitioner_id": 999, "tier": "primary", "starts_at": start, "ends_at": end})
    assert ghost.status_code == 422 and ghost.json()["detail"][0]["loc"] == ["body", "practitioner_id"]
    shift_id = r.json()["id"]
    assert client.patch(f"/api/rota/shifts/{shift_id}", json={"tier": "backup"}).json()["tier"] == "backup"
    assert client.delete(f"/api/practitioners/{p['id']}").status_code == 409
    assert client.delete(f"/api/rota/shifts/{shift_id}").status_code == 204
    assert client.get(f"/api/rota/shifts/{shift_id}").status_code == 404
    assert lead["role"] == "clinical_lead"
