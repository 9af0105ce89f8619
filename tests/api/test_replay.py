"""Replay of a candidate rule file over past cases (issue #17): POST /api/rules/{line}/replay.

A known set of cases is built through the API (and reviews inserted as rows); the live file's
replay changes nothing by construction; a deliberately weakened file lists exactly the cases it
would under-triage; a bad file is a 422 naming its line; nothing is written, nobody is paged.
"""
from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, func, select

from api.domain import replay_diff
from api.models import Base, CaseReview, OutboxMessage
from api.services import cases, replay
from api.triage.ruleset import RULES_DIR, URGENCY_ORDER, available_versions
from tests.api.factories import HIV_NEEDLESTICK, standard_rota
from tests.api.web.builders import case_row

LIVE_SHARPS = available_versions("sharps")[-1]
LIVE_MANAGER = available_versions("manager")[-1]
SHARPS = (RULES_DIR / f"{LIVE_SHARPS}.yaml").read_text(encoding="utf-8")
MANAGER = (RULES_DIR / f"{LIVE_MANAGER}.yaml").read_text(encoding="utf-8")
BOT_TOKEN = "bot-token-0123456789abcdef"


def bump(text: str, live: str, new: str) -> str:
    assert f"version: {live}\n" in text
    return text.replace(f"version: {live}\n", f"version: {new}\n")


def without_rule(text: str, rule_id: str, next_rule_id: str) -> str:
    """The file with one rule's block cut out (from its `- id:` to the next rule's)."""
    start, end = text.index(f"  - id: {rule_id}\n"), text.index(f"  - id: {next_rule_id}\n")
    return text[:start] + text[end:]


def weakened_sharps() -> str:
    """The live sharps file without hiv_pep: a possible HIV exposure inside the PEP window is no
    longer an emergency (no A&E)."""
    assert "  - id: hiv_pep\n" in SHARPS
    return bump(without_rule(SHARPS, "hiv_pep", "hiv_pep_window_closed"), LIVE_SHARPS, "sharps-2099.1.1")


@pytest.fixture
def settings(settings):
    return settings.model_copy(update={"helpline_bot_token": BOT_TOKEN})


@pytest.fixture
def bot(app) -> Iterator[TestClient]:
    with TestClient(app, headers={"Authorization": f"Bearer {BOT_TOKEN}"}) as c:
        yield c


def _open(client: TestClient, **body) -> str:
    r = client.post("/api/cases", json=body)
    assert r.status_code == 201, r.text
    return r.json()["ref"]


def _needlestick(hours_ago: float, now: datetime, hiv: str = "positive") -> dict:
    return {**HIV_NEEDLESTICK, "source": {"identified": True, "hiv": hiv},
            "occurred_at": (now - timedelta(hours=hours_ago)).isoformat()}


def _review(session, ref: str, urgency: str, at: datetime) -> None:
    case = cases.get_by_ref(session, ref)
    session.add(CaseReview(case_id=case.id, urgency=urgency, rules_urgency=case.urgency,
                           rule_version=case.rule_version, by="Alex Primary", actor="test", created_at=at))
    session.commit()


@pytest.fixture
def sharps_cases(client, session, clock) -> dict[str, str]:
    """Six sharps cases with known decisions, four reviewed:

    hiv_recent   emergency (hiv_pep), reviewed urgent and then emergency (the newest counts)
    hiv_unreviewed  emergency (hiv_pep), no review
    hiv_late     urgent: 100 h ago, the PEP window closed; reviewed urgent
    intact       routine; reviewed urgent (the rules under-triaged it)
    unknown_hiv  urgent; reviewed routine (over-triaged)
    late_answer  opened with little, answered 80 h later with an HIV-positive source exposed at the
                 opening: decided (urgent, PEP window closed) at the later time, not the opening
    """
    standard_rota(session, now=clock.now)
    t0 = clock.now
    refs = {
        "hiv_recent": _open(client, line="sharps", answers=_needlestick(0.5, t0)),
        "hiv_unreviewed": _open(client, line="sharps", answers=_needlestick(2, t0)),
        "hiv_late": _open(client, line="sharps", answers=_needlestick(100, t0)),
        "intact": _open(client, line="sharps", answers={"exposure_type": "intact_skin"}),
        "unknown_hiv": _open(client, line="sharps", answers=_needlestick(1, t0, hiv="unknown")),
        "late_answer": _open(client, line="sharps", answers={"exposure_type": "percutaneous"}),
    }
    clock.advance(hours=80)
    r = client.patch(f"/api/cases/{refs['late_answer']}", json={"answers": _needlestick(80, clock.now)})
    assert r.status_code == 200 and r.json()["urgency"] == "urgent", r.text
    _review(session, refs["hiv_recent"], "urgent", clock.now)
    _review(session, refs["hiv_recent"], "emergency", clock.now + timedelta(minutes=5))
    _review(session, refs["hiv_late"], "urgent", clock.now)
    _review(session, refs["intact"], "urgent", clock.now)
    _review(session, refs["unknown_hiv"], "routine", clock.now)
    stored = {name: client.get(f"/api/cases/{ref}").json()["urgency"] for name, ref in refs.items()}
    assert stored == {"hiv_recent": "emergency", "hiv_unreviewed": "emergency", "hiv_late": "urgent",
                      "intact": "routine", "unknown_hiv": "urgent", "late_answer": "urgent"}
    return refs


def _footprint(session) -> dict:
    """Every table's row count, and the outbox as it stands."""
    session.expire_all()
    counts = {t.name: session.scalar(select(func.count()).select_from(t)) for t in Base.metadata.sorted_tables}
    outbox = session.execute(select(OutboxMessage.id, OutboxMessage.status, OutboxMessage.to,
                                    OutboxMessage.body)).all()
    return {"counts": counts, "outbox": outbox}


def test_replaying_the_live_file_changes_nothing(client, sharps_cases):
    r = client.post("/api/rules/sharps/replay", json={"rules_yaml": SHARPS})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["changed"] == []
    assert body["cases"] == 6
    assert (body["candidate_version"], body["live_version"]) == (LIVE_SHARPS, LIVE_SHARPS)
    assert body["version_released"] is True
    # Against the reviews the live rules under-triaged `intact` and over-triaged `unknown_hiv`.
    assert (body["would_under_triage_vs_review"], body["would_over_triage_vs_review"]) == (1, 1)
    assert body["cases_would_under_triage_vs_review"] == [sharps_cases["intact"]]


def test_a_weakened_file_lists_exactly_the_cases_it_would_under_triage(client, sharps_cases):
    r = client.post("/api/rules/sharps/replay", json={"rules_yaml": weakened_sharps()})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["candidate_version"] == "sharps-2099.1.1" and body["live_version"] == LIVE_SHARPS
    assert body["version_released"] is False and body["cases"] == 6
    changed = {c["ref"]: c for c in body["changed"]}
    # Exactly the two possible HIV exposures inside the PEP window at their decision time; not the
    # one past the window, and not the late answer, decided 80 hours after it was opened.
    assert set(changed) == {sharps_cases["hiv_recent"], sharps_cases["hiv_unreviewed"]}
    for c in changed.values():
        assert (c["was"], c["now"], c["direction"]) == ("emergency", "urgent", "down")
        assert "hiv_pep" in c["rules_fired_was"] and "hiv_pep" not in c["rules_fired_now"]
        assert c["decided_under"] == LIVE_SHARPS
    assert changed[sharps_cases["hiv_recent"]]["reviewed"] == "emergency"  # the newest review
    assert changed[sharps_cases["hiv_unreviewed"]]["reviewed"] is None
    assert body["moved_down"] == 2 and body["moved_up"] == 0
    # Against the reviews: hiv_recent now under-triaged too, beside intact; unknown_hiv still over.
    assert body["would_under_triage_vs_review"] == 2
    assert set(body["cases_would_under_triage_vs_review"]) == {sharps_cases["hiv_recent"], sharps_cases["intact"]}
    assert body["would_over_triage_vs_review"] == 1
    assert (body["live_under_triage_vs_review"], body["live_over_triage_vs_review"]) == (1, 1)


def test_each_case_is_decided_at_its_latest_triage_time(session, sharps_cases):
    """The live rules reproduce every stored urgency: the late answer only at its later time."""
    diff = replay.replay(session, line="sharps", rules_yaml=SHARPS)
    by_ref = {c.ref: c for c in diff.cases}
    assert all(c.was == c.stored for c in diff.cases)
    late = by_ref[sharps_cases["late_answer"]]
    opened = by_ref[sharps_cases["hiv_recent"]].decided_at
    assert late.decided_at - opened == timedelta(hours=80)
    assert "hiv_pep_window_closed" in late.rules_fired_was


def test_a_flag_change_with_the_same_urgency_is_listed_apart(client, sharps_cases):
    a_and_e = "    flags: [go_to_emergency_department, page_on_call]\n"
    assert SHARPS.count(a_and_e) == 1  # hiv_pep's
    text = bump(SHARPS.replace(a_and_e, "    flags: [page_on_call]\n"), LIVE_SHARPS, "sharps-2099.1.2")
    body = client.post("/api/rules/sharps/replay", json={"rules_yaml": text}).json()
    assert body["changed"] == []  # same urgency, same rules ...
    assert {c["ref"]: c["fields"] for c in body["changed_otherwise"]} == {  # ... but no A&E instruction
        sharps_cases["hiv_recent"]: ["go_to_emergency_department"],
        sharps_cases["hiv_unreviewed"]: ["go_to_emergency_department"]}


def test_nothing_is_written_and_nobody_is_paged(client, session, sharps_cases):
    before = _footprint(session)
    assert before["outbox"]  # the cases paged when they were opened
    for text in (SHARPS, weakened_sharps()):
        assert client.post("/api/rules/sharps/replay", json={"rules_yaml": text}).status_code == 200
    assert client.post("/api/rules/manager/replay", json={"rules_yaml": MANAGER}).status_code == 200
    assert _footprint(session) == before


def test_the_replay_reads_in_three_queries_whatever_the_number_of_cases(session, sharps_cases):
    engine = session.get_bind()
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        replay.replay(session, line="sharps", rules_yaml=SHARPS)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) == 3
    assert not [s for s in statements if s.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))]
    assert not session.new and not session.dirty


def test_limit_replays_the_newest_cases(client, sharps_cases):
    body = client.post("/api/rules/sharps/replay", json={"rules_yaml": weakened_sharps(), "limit": 4}).json()
    assert body["cases"] == 4 and body["changed"] == []  # the two HIV emergencies are the oldest


def test_a_malformed_file_is_a_422_naming_the_line(client, sharps_cases):
    text = SHARPS.replace("    tier: emergency\n", "    tier: critical\n")
    line = next(n for n, t in enumerate(text.splitlines(), 1) if "tier: critical" in t)
    r = client.post("/api/rules/sharps/replay", json={"rules_yaml": text})
    assert r.status_code == 422
    (detail,) = r.json()["detail"]
    assert detail["loc"] == ["body", "rules_yaml"] and detail["line"] == line
    assert detail["msg"].startswith(f"line {line}: rule #2 (hiv_pep): unknown tier 'critical'")
    r = client.post("/api/rules/sharps/replay", json={"rules_yaml": "version: sharps-2099.1.1\nrules: [\n"})
    assert r.status_code == 422 and r.json()["detail"][0]["line"] == 3
    assert r.json()["detail"][0]["msg"].startswith("line 3: not valid YAML")


def test_a_file_for_the_other_line_is_a_422(client):
    r = client.post("/api/rules/sharps/replay", json={"rules_yaml": MANAGER})
    assert r.status_code == 422
    (detail,) = r.json()["detail"]
    assert "is a manager rule file, not a sharps one" in detail["msg"]
    assert detail["line"] == next(n for n, t in enumerate(MANAGER.splitlines(), 1) if t.startswith("version:"))
    assert client.post("/api/rules/manager/replay", json={"rules_yaml": SHARPS}).status_code == 422


def test_a_body_without_the_file_or_too_large_is_a_422(client):
    assert client.post("/api/rules/sharps/replay", json={}).status_code == 422
    big = SHARPS + "#" * (replay.MAX_RULE_FILE_BYTES + 1)
    r = client.post("/api/rules/sharps/replay", json={"rules_yaml": big})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "rules_yaml"]


def test_only_the_operator_token_may_replay(bot, anon):
    for path in ("/api/rules/sharps/replay", "/api/rules/manager/replay"):
        assert bot.post(path, json={"rules_yaml": SHARPS}).status_code == 403
        assert anon.post(path, json={"rules_yaml": SHARPS}).status_code == 401


@pytest.fixture
def manager_cases(client, session, clock) -> dict[str, str]:
    standard_rota(session, now=clock.now)
    refs = {
        "advice": _open(client, line="manager", kind="advice", answers={"topic": "fit_note"}),
        "referral": _open(client, line="manager", kind="referral", answers={
            "employee_name": "Jo Bloggs", "consent": True, "consent_reason_explained": True, "reason": "other"}),
        "crisis": _open(client, line="manager", kind="crisis", answers={"crisis": True}),
    }
    _open(client, line="sharps", answers={"exposure_type": "intact_skin"})  # another line: not replayed
    return refs


def test_manager_replay_of_the_live_file_changes_nothing(client, manager_cases):
    body = client.post("/api/rules/manager/replay", json={"rules_yaml": MANAGER}).json()
    assert (body["cases"], body["changed"], body["candidate_version"]) == (3, [], LIVE_MANAGER)


def test_a_manager_candidate_decides_the_crisis_rules_too(client, manager_cases):
    crisis = "    when: {crisis: true}\n    exclusive: true\n    tier: emergency\n"
    advice = "    when: {kind: advice}\n    tier: urgent\n"
    assert MANAGER.count(crisis) == 1 and MANAGER.count(advice) == 1
    text = MANAGER.replace(crisis, crisis.replace("emergency", "urgent"))
    text = text.replace(advice, advice.replace("urgent", "routine"))
    r = client.post("/api/rules/manager/replay", json={"rules_yaml": bump(text, LIVE_MANAGER, "manager-2099.1.1")})
    assert r.status_code == 200, r.text
    changed = {c["ref"]: (c["was"], c["now"], c["direction"]) for c in r.json()["changed"]}
    assert changed == {manager_cases["crisis"]: ("emergency", "urgent", "down"),
                       manager_cases["advice"]: ("urgent", "routine", "down")}


def test_the_diff_orders_urgencies_as_the_rules_do():
    assert replay_diff.URGENCY_ORDER == URGENCY_ORDER


def test_a_case_with_an_urgency_but_no_stored_version_is_replayed_at_its_opening(session, clock):
    # Rows made without the triage service (as the report tests make them): no event, no version.
    opened = clock.now - timedelta(hours=1)
    row = case_row(session, ref="SH-000042", urgency="emergency", channel="web", created_at=opened, org=None,
                   answers=_needlestick(0.5, opened))
    untriaged = case_row(session, ref="SH-000043", urgency=None, channel="web", created_at=opened, org=None)
    session.commit()
    diff = replay.replay(session, line="sharps", rules_yaml=weakened_sharps())
    assert [c.ref for c in diff.cases] == [row.ref] and untriaged.ref not in {c.ref for c in diff.cases}
    (case,) = diff.cases
    assert (case.decided_at, case.decided_under, case.was, case.now) == (opened, None, "emergency", "urgent")
