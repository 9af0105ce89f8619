"""Managers: make a referral online, follow it, download the list."""
from __future__ import annotations

import csv
import io

from tests.api.web.conftest import confirm_organisation, token_of

FORM = {"employee_name": "R. Patel", "employee_role": "Receptionist", "employee_hours": "30",
        "reason": "musculoskeletal", "details": "Back pain, advice on adjustments", "phone": "07700 900456",
        "consent": "yes", "consent_reason_explained": "yes"}


def test_manager_makes_a_referral_for_their_organisation(browser_for, client, world):
    manager = browser_for("manager")
    r = manager.post("/referrals/new", data={**FORM, "csrf_token": token_of(manager, "/referrals/new")},
                     follow_redirects=False)
    assert r.status_code == 303
    ref = r.headers["location"].split("/")[-1].split("?")[0]
    body = client.get(f"/api/cases/{ref}").json()
    assert (body["line"], body["kind"], body["channel"]) == ("manager", "referral", "web")
    assert body["organisation"]["code"] == "Y00001"
    assert body["contact"]["phone"] == "+447700900456" and body["contact"]["name"] == "Mo Manager"
    assert body["answers"]["consent"] is True and body["answers"]["reason"] == "musculoskeletal"
    page = manager.get(r.headers["location"]).text
    assert "Referral sent" in page and ref in page
    assert ref in manager.get("/referrals").text
    assert ref not in browser_for("other_manager").get("/referrals").text


def test_a_referral_needs_consent(browser_for, client):
    manager = browser_for("manager")
    r = manager.post("/referrals/new", data={**FORM, "consent": "", "csrf_token": token_of(manager, "/referrals/new")})
    assert r.status_code == 400 and "consent" in r.text
    assert client.get("/api/cases").json()["count"] == 0


def test_manager_downloads_their_referrals(browser_for, client, world):
    mine = client.post("/api/cases", json={"line": "manager", "kind": "advice", "organisation_code": "Y00001",
                                           "answers": {"topic": "=cmd|' /C calc'!A0"}}).json()["ref"]
    theirs = client.post("/api/cases", json={"line": "manager", "kind": "advice", "organisation_code": "FA001",
                                             "answers": {"topic": "x"}}).json()["ref"]
    nurse = browser_for("practitioner")
    confirm_organisation(nurse, mine, "Y00001")
    confirm_organisation(nurse, theirs, "FA001")
    r = browser_for("manager").get("/referrals.csv")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(r.text)))
    assert rows[0][0] == "ref" and [row[0] for row in rows[1:]] == [mine]
    assert theirs not in r.text and "calc" not in r.text  # answers never leave in the manager's list
