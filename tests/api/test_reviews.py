"""Practitioner reviews and the concordance report through the JSON API (issue #17): a review is
recorded and audited with its actor, a changed mind is a new row and the newest counts, and the
report is counted correctly on a known set of cases across two rule versions, two lines and two
organisations, with its filters and the list of cases waiting for a review."""
from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.models import Case, CaseEvent, CaseReview
from tests.api.conftest import T0
from tests.api.factories import HIV_NEEDLESTICK, organisation, standard_rota
from tests.api.tokens import BOT_TOKEN, METRICS_TOKEN, token_client, with_tokens
from tests.api.web.builders import case_row

V11, V12, M12 = "sharps-2026.11.1", "sharps-2026.12.1", "manager-2026.12.1"
SUMMER = datetime(2026, 6, 30, 23, 30, tzinfo=timezone.utc)  # 00:30 on 1 July in London (BST)


@pytest.fixture
def settings(settings):
    return with_tokens(settings)


@pytest.fixture
def bot(app) -> Iterator[TestClient]:
    yield from token_client(app, BOT_TOKEN, "conv-1")


@pytest.fixture
def prometheus(app) -> Iterator[TestClient]:
    yield from token_client(app, METRICS_TOKEN, "conv-1")


def _review(client: TestClient, ref: str, urgency: str, by: str = "Dr Lee Lead", note: str | None = None):
    r = client.post(f"/api/cases/{ref}/review", json={"urgency": urgency, "by": by, "note": note})
    assert r.status_code == 201, r.text
    return r.json()


# -- recording a review ---------------------------------------------------------------------------------

@pytest.fixture
def emergency(client, session, clock) -> str:
    """A real case through the API: an HIV-positive needlestick, emergency under the shipped rules."""
    standard_rota(session, now=clock.now)
    body = client.post("/api/cases", json={"line": "sharps", "answers": HIV_NEEDLESTICK}).json()
    assert body["urgency"] == "emergency" and body["rule_version"]
    return body["ref"]


def test_a_review_is_recorded_beside_the_rules_and_audited_with_the_actor(client, session, emergency, clock):
    r = client.post(f"/api/cases/{emergency}/review",
                    json={"urgency": "urgent", "by": "Dr Lee Lead", "note": "spoke to her: source negative",
                          "actor": "Somebody Else"})
    assert r.status_code == 201, r.text
    body = r.json()
    version = client.get(f"/api/cases/{emergency}").json()["rule_version"]
    assert body == {"ref": emergency, "urgency": "urgent", "rules_urgency": "emergency", "rule_version": version,
                    "verdict": "over_triage", "under_triaged": False, "by": "Dr Lee Lead", "actor": "operator",
                    "note": "spoke to her: source negative", "created_at": body["created_at"]}
    assert datetime.fromisoformat(body["created_at"]) == clock.now
    row = session.scalars(select(CaseReview)).one()
    assert (row.urgency, row.rules_urgency, row.rule_version, row.by, row.actor) == (
        "urgent", "emergency", version, "Dr Lee Lead", "operator")
    events = [e for e in client.get(f"/api/cases/{emergency}/events").json() if e["type"] == "review_recorded"]
    assert len(events) == 1 and events[0]["actor"] == "operator"
    assert events[0]["details"] == {"review_id": row.id, "urgency": "urgent", "rules_urgency": "emergency",
                                    "rule_version": version, "by": "Dr Lee Lead",
                                    "note": "spoke to her: source negative", "verdict": "over_triage",
                                    "previous_urgency": None}
    assert "Somebody Else" not in str(events)


def test_a_changed_mind_is_a_new_row_and_a_new_event_and_the_newest_counts(client, session, emergency, clock):
    _review(client, emergency, "urgent")
    clock.advance(hours=2)
    second = _review(client, emergency, "emergency", by="Alex Primary")
    assert second["verdict"] == "agree"
    assert session.scalar(select(CaseReview).where(CaseReview.urgency == "urgent")) is not None  # kept
    listed = client.get(f"/api/cases/{emergency}/reviews").json()
    assert [(r["urgency"], r["by"]) for r in listed] == [("urgent", "Dr Lee Lead"), ("emergency", "Alex Primary")]
    events = [e for e in client.get(f"/api/cases/{emergency}/events").json() if e["type"] == "review_recorded"]
    assert [e["details"]["previous_urgency"] for e in events] == [None, "urgent"]
    assert "was urgent" in events[1]["description"]
    report = client.get("/api/reports/concordance").json()
    assert report["totals"]["reviewed"] == 1 and report["totals"]["agree"] == 1
    assert report["totals"]["over_triage"] == 0


def test_an_unknown_case_is_404(client):
    r = client.post("/api/cases/SH-999999/review", json={"urgency": "urgent", "by": "Dr Lee Lead"})
    assert r.status_code == 404 and "SH-999999" in r.json()["detail"]
    assert client.get("/api/cases/SH-999999/reviews").status_code == 404


def test_a_case_the_rules_have_not_decided_is_409(client, session, clock):
    case_row(session, ref="SH-000050", urgency=None, channel="web", created_at=clock.now, org=None, status="open")
    session.commit()
    r = client.post("/api/cases/SH-000050/review", json={"urgency": "urgent", "by": "Dr Lee Lead"})
    assert r.status_code == 409
    assert "no urgency from the rules yet" in r.json()["detail"]
    assert session.scalars(select(CaseReview)).all() == []
    assert session.scalars(select(CaseEvent).where(CaseEvent.type == "review_recorded")).all() == []


@pytest.mark.parametrize(("body", "field"), [
    ({"urgency": "critical", "by": "Dr Lee Lead"}, "urgency"),
    ({"urgency": "URGENT", "by": "Dr Lee Lead"}, "urgency"),
    ({"by": "Dr Lee Lead"}, "urgency"),
    ({"urgency": "urgent"}, "by"),
    ({"urgency": "urgent", "by": ""}, "by"),
    ({"urgency": "urgent", "by": "   "}, "by"),
    ({"urgency": "urgent", "by": "x" * 201}, "by"),
    ({"urgency": "urgent", "by": "Dr Lee Lead", "note": "x" * 4001}, "note"),
])
def test_a_bad_body_is_422_naming_the_field(client, emergency, body, field, session):
    r = client.post(f"/api/cases/{emergency}/review", json=body)
    assert r.status_code == 422
    assert [e["loc"] for e in r.json()["detail"]] == [["body", field]]
    assert session.scalars(select(CaseReview)).all() == []


def test_only_the_operator_token_records_reviews_and_reads_the_report(bot, prometheus, anon, client, emergency,
                                                                      session):
    body = {"urgency": "urgent", "by": "Dr Lee Lead"}
    for c, expected in ((bot, 403), (prometheus, 403), (anon, 401)):
        assert c.post(f"/api/cases/{emergency}/review", json=body).status_code == expected
        assert c.get(f"/api/cases/{emergency}/reviews").status_code == expected
        assert c.get("/api/reports/concordance").status_code == expected
        assert c.get("/api/reports/concordance.csv").status_code == expected
    assert session.scalars(select(CaseReview)).all() == []
    assert client.post(f"/api/cases/{emergency}/review", json=body).status_code == 201


# -- the concordance report on a known set of cases -----------------------------------------------------

KNOWN = [
    # ref, line, org, rule version, the rules' urgency, the reviews in order (the last counts), opened
    ("SH-000101", "sharps", "a", V11, "urgent", ["emergency"], T0 - timedelta(days=20)),   # under
    ("SH-000102", "sharps", "a", V11, "urgent", ["urgent"], T0 - timedelta(days=19)),      # agree
    ("SH-000103", "sharps", "b", V11, "emergency", ["urgent"], T0 - timedelta(days=18)),   # over
    ("SH-000109", "sharps", "a", V11, "urgent", ["urgent"], SUMMER),                        # agree
    ("SH-000104", "sharps", "b", V12, "routine", ["emergency", "routine"], T0 - timedelta(days=10)),  # agree
    ("SH-000105", "sharps", "a", V12, "routine", ["urgent"], T0 - timedelta(days=3)),      # under
    ("MA-000101", "manager", "a", M12, "urgent", ["routine"], T0 - timedelta(days=9)),     # over
    ("MA-000102", "manager", "b", M12, "routine", ["routine"], T0 - timedelta(days=2)),    # agree
    # no review
    ("SH-000106", "sharps", "a", V12, "urgent", [], T0 - timedelta(days=8)),
    ("SH-000107", "sharps", "b", V12, "routine", [], T0 - timedelta(days=6)),
    ("MA-000103", "manager", "b", M12, "urgent", [], T0 - timedelta(days=12)),
    ("SH-000108", "sharps", "a", None, None, [], T0 - timedelta(days=15)),  # never triaged: never listed
]


@pytest.fixture
def known(client, session, clock) -> dict:
    orgs = {"a": organisation(session, "Y00001", now=clock.now),
            "b": organisation(session, "FA001", name="High Street Pharmacy", type="community_pharmacy", now=clock.now)}
    for ref, line, org, version, rules, _, opened in KNOWN:
        case = case_row(session, ref=ref, line=line, urgency=rules, channel="web", created_at=opened, org=orgs[org],
                        status="triaged" if rules else "open")
        case.rule_version = version
        case.decision = {"urgency": rules, "rule_version": version} if rules else None
    session.commit()
    for ref, *_, said, _opened in KNOWN:
        for urgency in said:
            _review(client, ref, urgency)
    return orgs


def _version(report: dict, version: str) -> dict:
    return next(v for v in report["by_rule_version"] if v["rule_version"] == version)


def test_concordance_by_rule_version_on_the_known_cases(client, known):
    report = client.get("/api/reports/concordance").json()
    assert [v["rule_version"] for v in report["by_rule_version"]] == [M12, V11, V12]
    assert _version(report, V11) == {"rule_version": V11, "reviewed": 4, "agree": 2, "under_triage": 1,
                                     "over_triage": 1, "cases_under_triaged": ["SH-000101"],
                                     "cases_over_triaged": ["SH-000103"]}
    assert _version(report, V12) == {"rule_version": V12, "reviewed": 2, "agree": 1, "under_triage": 1,
                                     "over_triage": 0, "cases_under_triaged": ["SH-000105"], "cases_over_triaged": []}
    assert _version(report, M12) == {"rule_version": M12, "reviewed": 2, "agree": 1, "under_triage": 0,
                                     "over_triage": 1, "cases_under_triaged": [], "cases_over_triaged": ["MA-000101"]}
    totals = report["totals"]
    assert (totals["reviewed"], totals["agree"], totals["under_triage"], totals["over_triage"]) == (8, 4, 2, 2)
    assert totals["cases_under_triaged"] == ["SH-000101", "SH-000105"]
    assert [u["ref"] for u in report["under_triaged"]] == ["SH-000101", "SH-000105"]
    assert report["review_due_days"] == 7
    assert report["filters"] == {"line": None, "organisation": None, "from": None, "to": None,
                                 "period_of": "case opened", "timezone": "Europe/London"}


@pytest.mark.parametrize(("params", "reviewed", "agree", "under", "over", "under_refs"), [
    ({"line": "sharps"}, 6, 3, 2, 1, ["SH-000101", "SH-000105"]),
    ({"line": "manager"}, 2, 1, 0, 1, []),
    ({"organisation": "Y00001"}, 5, 2, 2, 1, ["SH-000101", "SH-000105"]),
    ({"organisation": "fa001"}, 3, 2, 0, 1, []),  # a code in any case
    ({"line": "sharps", "organisation": "FA001"}, 2, 1, 0, 1, []),
    ({"from": "2026-11-13", "to": "2026-11-20"}, 3, 1, 1, 1, ["SH-000105"]),
    ({"from": "2026-11-20"}, 2, 1, 1, 0, ["SH-000105"]),
    ({"to": "2026-11-03"}, 2, 1, 1, 0, ["SH-000101"]),
    # London dates: opened 23:30 UTC on 30 June is 1 July in London
    ({"from": "2026-07-01", "to": "2026-07-01"}, 1, 1, 0, 0, []),
    ({"from": "2026-06-30", "to": "2026-06-30"}, 0, 0, 0, 0, []),
])
def test_concordance_filters(client, known, params, reviewed, agree, under, over, under_refs):
    report = client.get("/api/reports/concordance", params=params).json()
    t = report["totals"]
    assert (t["reviewed"], t["agree"], t["under_triage"], t["over_triage"]) == (reviewed, agree, under, over)
    assert t["cases_under_triaged"] == under_refs
    assert sum(v["reviewed"] for v in report["by_rule_version"]) == reviewed
    assert {k: report["filters"][k] for k in params} == params


def test_a_case_counts_for_the_organisation_a_practitioner_confirmed(client, known, session):
    case = session.scalar(select(Case).where(Case.ref == "SH-000102"))  # opened with A
    case.confirmed_organisation_id = known["b"].id
    session.commit()
    a = client.get("/api/reports/concordance", params={"organisation": "Y00001"}).json()["totals"]["reviewed"]
    b = client.get("/api/reports/concordance", params={"organisation": "FA001"}).json()["totals"]["reviewed"]
    assert (a, b) == (4, 4)


@pytest.mark.parametrize(("params", "field"), [
    ({"line": "dental"}, "line"),
    ({"organisation": "NOPE1"}, "organisation"),
    ({"from": "2026-13-01"}, "from"),
    ({"to": "yesterday"}, "to"),
    ({"from": "2026-11-20", "to": "2026-11-13"}, "to"),
])
def test_a_bad_filter_is_422_naming_it(client, known, params, field):
    for path in ("/api/reports/concordance", "/api/reports/concordance.csv"):
        r = client.get(path, params=params)
        assert r.status_code == 422, path
        assert [e["loc"] for e in r.json()["detail"]] == [["query", field]]


def test_unreviewed_cases_after_review_due_days_with_the_clock(client, known, clock, app, settings):
    report = client.get("/api/reports/concordance").json()
    assert report["unreviewed"] == [
        {"ref": "MA-000103", "opened_at": (T0 - timedelta(days=12)).isoformat(), "days": 12, "line": "manager",
         "urgency": "urgent", "rule_version": M12},
        {"ref": "SH-000106", "opened_at": (T0 - timedelta(days=8)).isoformat(), "days": 8, "line": "sharps",
         "urgency": "urgent", "rule_version": V12},
    ]
    assert report["unreviewed_count"] == 2
    by_line = client.get("/api/reports/concordance", params={"line": "sharps"}).json()["unreviewed"]
    assert [u["ref"] for u in by_line] == ["SH-000106"]
    by_org = client.get("/api/reports/concordance", params={"organisation": "FA001"}).json()["unreviewed"]
    assert [u["ref"] for u in by_org] == ["MA-000103"]
    recent = client.get("/api/reports/concordance", params={"from": "2026-11-12"}).json()["unreviewed"]
    assert [u["ref"] for u in recent] == ["SH-000106"]
    # 7 days after SH-000107 was opened, it is due too; a review takes a case off the list.
    clock.advance(days=1)
    assert [u["ref"] for u in client.get("/api/reports/concordance").json()["unreviewed"]] == [
        "MA-000103", "SH-000106", "SH-000107"]
    _review(client, "SH-000106", "urgent")
    listed = client.get("/api/reports/concordance").json()["unreviewed"]
    assert [(u["ref"], u["days"]) for u in listed] == [("MA-000103", 13), ("SH-000107", 7)]
    # REVIEW_DUE_DAYS decides when
    app.state.settings = settings.model_copy(update={"review_due_days": 10})
    report = client.get("/api/reports/concordance").json()
    assert report["review_due_days"] == 10 and [u["ref"] for u in report["unreviewed"]] == ["MA-000103"]


def test_weekly_figures_by_week_opened(client, known):
    weekly = client.get("/api/reports/concordance", params={"from": "2026-11-01"}).json()["weekly"]
    assert weekly == [{"week": "2026-W45", "reviewed": 3, "under_triage": 1},
                      {"week": "2026-W46", "reviewed": 2, "under_triage": 0},
                      {"week": "2026-W47", "reviewed": 2, "under_triage": 1}]


def test_concordance_csv(client, known):
    r = client.get("/api/reports/concordance.csv", params={"line": "sharps"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(r.text)))
    assert rows == [
        ["rule_version", "reviewed", "agree", "under_triage", "over_triage", "cases_under_triaged",
         "cases_over_triaged"],
        [V11, "4", "2", "1", "1", "SH-000101", "SH-000103"],
        [V12, "2", "1", "1", "0", "SH-000105", ""],
        ["all", "6", "3", "2", "1", "SH-000101 SH-000105", "SH-000103"],
    ]
