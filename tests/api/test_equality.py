"""Equality of access through the JSON API (issue #18): answers are stored apart from any case (no
case, conversation or time: nothing to join them back to a person), unknown codes are refused
naming the question, the bot may record but not read, and the report is counted and suppressed
exactly on a known set of 12 responses and 14 cases."""
from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import datetime, timezone

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, inspect, select

from api.models import Case, CaseEvent, ConversationMessage, EqualityResponse
from tests.api.factories import organisation
from tests.api.tokens import BOT_TOKEN, METRICS_TOKEN, token_client, with_tokens
from tests.api.web.builders import case_row

NOVEMBER = {"from": "2026-11-01", "to": "2026-11-30"}
FULL = {"age_band": "25-34", "sex": "female", "ethnic_group": "A", "disability": "no",
        "staff_group": "nurse_or_midwife", "organisation_type": "gp_practice"}


@pytest.fixture
def settings(settings):
    return with_tokens(settings)


@pytest.fixture
def bot(app) -> Iterator[TestClient]:
    yield from token_client(app, BOT_TOKEN, "conv-eq-1")


@pytest.fixture
def prometheus(app) -> Iterator[TestClient]:
    yield from token_client(app, METRICS_TOKEN, "conv-eq-1")


def _post(client: TestClient, answers: dict, *, line: str = "sharps", channel: str = "sms"):
    return client.post("/api/equality", json={"line": line, "channel": channel, "answers": answers})


# -- recording ----------------------------------------------------------------------------------------

def test_answers_are_stored_on_the_london_day_with_no_case_conversation_or_time(bot, session, clock):
    clock.now = datetime(2026, 6, 30, 23, 30, tzinfo=timezone.utc)  # 00:30 on 1 July in London (BST)
    r = _post(bot, {**FULL, "ethnic_group": "prefer_not_to_say"}, channel="web")
    assert r.status_code == 201, r.text
    assert r.json() == {"recorded": True}
    row = session.scalars(select(EqualityResponse)).one()
    assert (row.answered_on.isoformat(), row.line, row.channel) == ("2026-07-01", "sharps", "web")
    assert (row.age_band, row.sex, row.ethnic_group, row.disability, row.staff_group, row.organisation_type) == (
        "25-34", "female", "Z", "no", "nurse_or_midwife", "gp_practice")
    # Nothing in the table can link a row to a case, a conversation, a person or a moment.
    columns = {c["name"]: c for c in inspect(session.get_bind()).get_columns("equality_response")}
    assert set(columns) == {"id", "answered_on", "line", "channel", "age_band", "sex", "ethnic_group",
                            "disability", "staff_group", "organisation_type"}
    assert "DATETIME" not in str(columns["answered_on"]["type"]).upper()
    assert inspect(session.get_bind()).get_foreign_keys("equality_response") == []
    # ... and recording one touched no case, event or transcript.
    for model in (Case, CaseEvent, ConversationMessage):
        assert session.scalar(select(func.count()).select_from(model)) == 0


def test_answers_may_be_partial_and_a_link_to_a_case_is_refused(client, session):
    assert _post(client, {"sex": "male", "age_band": None}).status_code == 201
    row = session.scalars(select(EqualityResponse)).one()
    assert (row.sex, row.age_band, row.ethnic_group) == ("male", None, None)
    for extra in ({"conversation_id": "conv-eq-1"}, {"case_ref": "SH-000001"}, {"phone": "07700 900123"}):
        r = client.post("/api/equality", json={"line": "sharps", "channel": "sms", "answers": FULL, **extra})
        assert r.status_code == 422, extra
        assert r.json()["detail"][0]["loc"] == ["body", next(iter(extra))]
    assert session.scalar(select(func.count()).select_from(EqualityResponse)) == 1


@pytest.mark.parametrize(("body", "loc", "words"), [
    ({"answers": {"age_band": "30-40"}}, ["body", "answers", "age_band"], "'30-40' is not an answer to age_band"),
    ({"answers": {"ethnic_group": "white"}}, ["body", "answers", "ethnic_group"], "Choose one of A, B, C"),
    ({"answers": {"religion": "none"}}, ["body", "answers", "religion"], "no question called 'religion'"),
    ({"answers": {}}, ["body", "answers"], "No answers were given"),
    ({"answers": {"sex": None}}, ["body", "answers"], "No answers were given"),
    ({"answers": {"disability": 1}}, ["body", "answers", "disability"], "string"),
    ({"line": "dentistry", "answers": FULL}, ["body", "line"], "sharps"),
])
def test_unknown_codes_and_empty_answers_are_422_naming_the_field(client, session, body, loc, words):
    r = client.post("/api/equality", json={"line": "sharps", "channel": "sms", **body})
    assert r.status_code == 422, r.text
    detail = r.json()["detail"][0]
    assert detail["loc"] == loc
    assert words in detail["msg"]
    assert session.scalar(select(func.count()).select_from(EqualityResponse)) == 0


def test_the_bot_records_but_only_the_operator_reads_the_report(bot, prometheus, client, anon):
    assert _post(bot, FULL).status_code == 201
    for path in ("/api/reports/equality", "/api/reports/equality.csv"):
        assert bot.get(path).status_code == 403
        assert prometheus.get(path).status_code == 403
        assert anon.get(path).status_code == 401
        assert client.get(path).status_code == 200
    assert _post(prometheus, FULL).status_code == 403
    assert anon.post("/api/equality", json={"line": "sharps", "channel": "sms", "answers": FULL}).status_code == 401


# -- the report on a known set -----------------------------------------------------------------------------

#: 12 responses in November: (organisation type, age band, sex, disability, ethnic group, staff group);
#: None: not answered. Overall: 7 in 25-34, 3 in 35-44, 2 not answered; 7 female, 5 male; 9 no, 3 yes;
#: 7 A, 3 N, 2 Z; 5 nurses, 5 pharmacists, 2 admin; 6 GP practice, 5 community pharmacy, 1 federation.
KNOWN = [
    *[("gp_practice", "25-34", "female", "no", "A", "nurse_or_midwife")] * 5,
    ("gp_practice", "35-44", "male", "yes", "N", "admin_or_reception"),
    ("community_pharmacy", "25-34", "female", "no", "A", "pharmacist"),
    ("community_pharmacy", "25-34", "male", "no", "A", "pharmacist"),
    ("community_pharmacy", "35-44", "male", "no", "prefer_not_to_say", "pharmacist"),
    ("community_pharmacy", None, "male", "yes", "Z", "pharmacist"),
    ("community_pharmacy", None, "female", "no", "N", "pharmacist"),
    ("federation", "35-44", "male", "yes", "N", "admin_or_reception"),
]
QUESTIONS = ("organisation_type", "age_band", "sex", "disability", "ethnic_group", "staff_group")


def _answers(row: tuple) -> dict:
    return {q: a for q, a in zip(QUESTIONS, row, strict=True) if a is not None}


@pytest.fixture
def known(client, session, clock):
    """The 12 responses on 10 November (London), one on each side of November (not counted), and
    cases opened in and around November."""
    clock.now = datetime(2026, 10, 31, 23, 59, tzinfo=timezone.utc)  # 31 October in London (GMT)
    assert _post(client, FULL).status_code == 201
    clock.now = datetime(2026, 11, 10, 9, 0, tzinfo=timezone.utc)
    for row in KNOWN:
        assert _post(client, _answers(row)).status_code == 201
    clock.now = datetime(2026, 12, 1, 0, 0, tzinfo=timezone.utc)
    assert _post(client, FULL).status_code == 201

    gp = organisation(session, "Y00001", now=clock.now)
    pharmacy = organisation(session, "FA001", name="High Street Pharmacy", type="community_pharmacy", now=clock.now)
    day = datetime(2026, 11, 12, 10, 0, tzinfo=timezone.utc)
    specs = ([gp] * 5 + [pharmacy] * 2 + [None] * 5)
    for i, org in enumerate(specs):
        case_row(session, ref=f"SH-{i + 1:06d}", urgency="urgent", channel="sms", created_at=day, org=org)
    # Opened with the pharmacy, confirmed as the GP practice's by a practitioner: the practice's.
    confirmed = case_row(session, ref="SH-000013", urgency="urgent", channel="web", created_at=day, org=pharmacy)
    confirmed.confirmed_organisation_id = gp.id
    # The last minute of 30 November counts; the first of 1 December and of 1 November's eve do not.
    case_row(session, ref="SH-000014", urgency="urgent", channel="web", org=None,
             created_at=datetime(2026, 11, 30, 23, 59, tzinfo=timezone.utc))
    case_row(session, ref="SH-000015", urgency="urgent", channel="web", org=gp,
             created_at=datetime(2026, 12, 1, 0, 0, tzinfo=timezone.utc))
    case_row(session, ref="SH-000016", urgency="urgent", channel="web", org=gp,
             created_at=datetime(2026, 10, 31, 23, 59, tzinfo=timezone.utc))
    session.commit()


def _table(answers: list[dict]) -> dict[str, object]:
    """answer -> its count, or "<5" when suppressed (checking the two fields agree)."""
    out: dict[str, object] = {}
    for a in answers:
        assert (a["count"] is None) == a["suppressed"], a
        assert a["suppressed"] is False or a["percent"] is None, a
        out[a["answer"]] = "<5" if a["suppressed"] else a["count"]
    return out


def _hidden_but(codes: list[str], **shown) -> dict[str, object]:
    return {code: shown.get(code, "<5") for code in codes}


AGE = ["16-24", "25-34", "35-44", "45-54", "55-64", "65+", "prefer_not_to_say", "not_answered"]
SEX = ["female", "male", "prefer_not_to_say", "not_answered"]
DISABILITY = ["yes", "no", "prefer_not_to_say", "not_answered"]
ETHNIC = ["A", "B", "C", "D", "E", "F", "G", "H", "J", "K", "L", "M", "N", "P", "R", "S", "Z", "not_answered"]
STAFF = ["doctor", "nurse_or_midwife", "healthcare_assistant", "pharmacist", "pharmacy_technician_or_assistant",
         "allied_health_professional", "admin_or_reception", "manager", "other", "prefer_not_to_say",
         "not_answered"]
ORG_TYPES = ["gp_practice", "community_pharmacy", "federation", "other", "prefer_not_to_say", "not_answered"]


def test_the_report_counts_and_suppresses_the_known_set_overall(client, known):
    body = client.get("/api/reports/equality", params=NOVEMBER).json()
    assert (body["from"], body["to"], body["suppress_below"]) == ("2026-11-01", "2026-11-30", 5)
    assert body["responses"] == {"count": 12, "suppressed": False, "percent": None}
    overall = {q["question"]: _table(q["answers"]) for q in body["questions"]}
    assert list(overall) == ["age_band", "sex", "ethnic_group", "disability", "staff_group", "organisation_type"]
    assert overall == {
        # 3 and 2 are below 5 (primary); the zeros too.
        "age_band": _hidden_but(AGE, **{"25-34": 7}),
        # 7 + 5 = 12: the hidden zeros are known to be zeros, which names nobody, so the 5 is shown.
        "sex": _hidden_but(SEX, female=7, male=5),
        "ethnic_group": _hidden_but(ETHNIC, A=7),
        "disability": _hidden_but(DISABILITY, no=9),
        "staff_group": _hidden_but(STAFF, nurse_or_midwife=5, pharmacist=5),
        "organisation_type": _hidden_but(ORG_TYPES, gp_practice=6, community_pharmacy=5),
    }
    age = next(q for q in body["questions"] if q["question"] == "age_band")
    assert [(a["label"], a["percent"]) for a in age["answers"] if not a["suppressed"]] == [("25 to 34", 58.3)]
    ethnic = next(q for q in body["questions"] if q["question"] == "ethnic_group")["answers"]
    assert ethnic[0] == {"answer": "A", "label": "White British", "count": 7, "suppressed": False, "percent": 58.3,
                         "broad_group": "White"}
    assert ethnic[12]["broad_group"] == "Black, Black British, Caribbean or African"


def test_the_report_by_organisation_type_protects_each_row_and_column(client, known):
    body = client.get("/api/reports/equality", params=NOVEMBER).json()
    by_type = {t["organisation_type"]: t for t in body["by_organisation_type"]}
    assert list(by_type) == ORG_TYPES
    assert by_type["gp_practice"]["label"] == "GP practice"
    assert by_type["gp_practice"]["responses"] == {"count": 6, "suppressed": False, "percent": 50.0}
    assert by_type["community_pharmacy"]["responses"]["count"] == 5
    assert by_type["federation"]["responses"] == {"count": None, "suppressed": True, "percent": None}
    tables = {t: {q["question"]: _table(q["answers"]) for q in b["questions"]} for t, b in by_type.items()}
    # GP practices (6): 5 of them said 25-34, female, no, A; the sixth is hidden in every column.
    assert tables["gp_practice"] == {
        "age_band": _hidden_but(AGE, **{"25-34": 5}),
        # 12 - 7 - 5 = 0 overall: no GP response said "prefer not to say" or left sex out, so beside
        # 5 women the one man would be 6 - 5: the 5 is hidden too.
        "sex": _hidden_but(SEX),
        "ethnic_group": _hidden_but(ETHNIC, A=5),
        "disability": _hidden_but(DISABILITY, no=5),
        # 5 nurses, all at GP practices: the other types' zeros in that row are known, naming nobody;
        # the GP admin (1) shares its 6 - 5 with the GP zeros no row gives away.
        "staff_group": _hidden_but(STAFF, nurse_or_midwife=5),
    }
    gp_age = next(q for q in by_type["gp_practice"]["questions"] if q["question"] == "age_band")["answers"]
    assert next(a for a in gp_age if a["answer"] == "25-34")["percent"] == 83.3  # of the 6 GP responses
    # Community pharmacies (5): all 5 pharmacists, shown; every other count of theirs is below 5.
    assert tables["community_pharmacy"]["staff_group"] == _hidden_but(STAFF, pharmacist=5)
    assert all(set(t.values()) == {"<5"} for q, t in tables["community_pharmacy"].items() if q != "staff_group")
    for other in ORG_TYPES[2:]:
        assert all(set(t.values()) == {"<5"} for t in tables[other].values()), other
    assert "organisation_type" not in tables["gp_practice"]


def test_uptake_compares_cases_by_organisation_type_with_the_answers(client, known):
    uptake = client.get("/api/reports/equality", params=NOVEMBER).json()["uptake"]
    # 14 cases in November: 6 GP practice (one confirmed over its pharmacy), 2 pharmacy, 6 without an organisation.
    assert uptake["cases"] == {"count": 14, "suppressed": False, "percent": None}
    assert uptake["responses"]["count"] == 12
    rows = {u["organisation_type"]: (u["cases"] and _table([{**u["cases"], "answer": "c"}])["c"],
                                     _table([{**u["responses"], "answer": "r"}])["r"])
            for u in uptake["by_organisation_type"]}
    assert rows == {"gp_practice": (6, 6), "community_pharmacy": ("<5", 5), "federation": ("<5", "<5"),
                    "other": ("<5", "<5"), "prefer_not_to_say": (None, "<5"), "not_answered": (6, "<5")}
    gp = next(u for u in uptake["by_organisation_type"] if u["organisation_type"] == "gp_practice")
    assert (gp["cases"]["percent"], gp["responses"]["percent"]) == (42.9, 50.0)


def test_the_csv_carries_less_than_5_and_never_the_small_number(client, known):
    r = client.get("/api/reports/equality.csv", params=NOVEMBER)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"] and "equality-" in r.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert list(rows[0]) == ["from", "to", "table", "organisation_type", "question", "answer", "label", "count",
                             "percent"]
    counts = [row["count"] for row in rows]
    assert "<5" in counts
    assert not {"0", "1", "2", "3", "4"} & set(counts)
    assert all(c == "<5" or int(c) >= 5 for c in counts)
    find = {(row["table"], row["organisation_type"], row["question"], row["answer"]): row for row in rows}
    assert find[("responses", "all", "", "")]["count"] == "12"
    assert (find[("answers", "all", "sex", "female")]["count"], find[("answers", "all", "sex", "female")]["percent"]) \
        == ("7", "58.3")
    male = find[("answers", "all", "sex", "male")]
    assert (male["count"], male["percent"], male["label"]) == ("5", "41.7", "Male")
    disabled = find[("answers", "all", "disability", "yes")]
    assert (disabled["count"], disabled["percent"], disabled["label"]) == ("<5", "", "Yes")
    assert find[("answers", "gp_practice", "age_band", "25-34")]["count"] == "5"
    assert find[("cases", "all", "", "")]["count"] == "14"
    assert find[("cases", "community_pharmacy", "", "")]["count"] == "<5"
    assert {row["from"] for row in rows} == {"2026-11-01"} and {row["to"] for row in rows} == {"2026-11-30"}


def test_the_period_defaults_to_the_last_12_months_and_a_bad_one_is_422(client, known, clock):
    clock.now = datetime(2027, 11, 10, 12, 0, tzinfo=timezone.utc)
    body = client.get("/api/reports/equality").json()
    assert (body["from"], body["to"]) == ("2026-11-11", "2027-11-10")
    assert body["responses"]["suppressed"] is True  # the one response of 1 December 2026
    clock.now = datetime(2026, 11, 30, 12, 0, tzinfo=timezone.utc)
    assert client.get("/api/reports/equality").json()["responses"]["count"] == 13  # with 31 October's
    only_to = client.get("/api/reports/equality", params={"to": "2026-11-10"}).json()
    assert (only_to["from"], only_to["responses"]["count"]) == ("2025-11-11", 13)
    widest = client.get("/api/reports/equality", params={"from": "0001-01-01", "to": "9999-12-31"})
    assert widest.status_code == 200 and widest.json()["uptake"]["cases"]["count"] == 16
    for params, field in (({"from": "2026-11-31"}, "from"), ({"to": "yesterday"}, "to"),
                          ({"from": "2026-11-30", "to": "2026-11-01"}, "to"), ({"from": "2026-12-25"}, "from")):
        r = client.get("/api/reports/equality", params=params)
        assert r.status_code == 422, params
        assert r.json()["detail"][0]["loc"] == ["query", field]
        assert client.get("/api/reports/equality.csv", params=params).status_code == 422


def test_an_empty_period_is_all_suppressed_and_never_fails(client):
    body = client.get("/api/reports/equality", params=NOVEMBER).json()
    assert body["responses"] == {"count": None, "suppressed": True, "percent": None}
    assert all(a["suppressed"] for q in body["questions"] for a in q["answers"])
    assert body["uptake"]["cases"]["suppressed"] is True
