"""scripts/rules_check.py (make rules-check FILE=...): a candidate rule file replayed over the cases
of a database, the diff printed; exit 0 unchanged, 1 changed, 2 invalid file, 3 no database."""
from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from api.core.config import Settings
from api.core.db import make_engine, make_session_factory
from api.main import create_app
from api.models import Base, CaseEvent, RefCounter
from api.triage.ruleset import RULES_DIR, available_versions
from scripts import rules_check
from tests.api.factories import HIV_NEEDLESTICK, standard_rota

ROOT = Path(__file__).resolve().parents[2]
LIVE = available_versions("sharps")[-1]
SHARPS = (RULES_DIR / f"{LIVE}.yaml").read_text(encoding="utf-8")
T0 = datetime(2026, 11, 23, 14, 0, tzinfo=timezone.utc)
TOKEN = "test-token-0123456789abcdef"


def weakened(version: str = "sharps-2099.1.1") -> str:
    start, end = SHARPS.index("  - id: hiv_pep\n"), SHARPS.index("  - id: hiv_pep_window_closed\n")
    return (SHARPS[:start] + SHARPS[end:]).replace(f"version: {LIVE}\n", f"version: {version}\n")


@pytest.fixture
def database(tmp_path) -> str:
    """A database with the app's schema and two sharps cases opened through the API: an HIV
    needlestick 30 minutes old (emergency, SH-000001) and unbroken skin (routine, SH-000002)."""
    url = f"sqlite:///{tmp_path / 'copy-of-live.db'}"
    engine = make_engine(url)
    Base.metadata.create_all(engine)
    with make_session_factory(engine)() as session:
        session.add_all([RefCounter(prefix="SH", value=0), RefCounter(prefix="MA", value=0)])
        standard_rota(session, now=T0)
    engine.dispose()
    settings = Settings(_env_file=None, environment="test", database_url=url, inbound_spool_dir=str(tmp_path / "spool"),
                        rasa_tracker_dialect="sqlite", rasa_tracker_db=str(tmp_path / "tracker.db"),
                        helpline_api_token=TOKEN, session_secret="test-session-secret-0123456789",
                        worker_enabled=False)
    with TestClient(create_app(settings, clock=lambda: T0), headers={"Authorization": f"Bearer {TOKEN}"}) as api:
        for answers in ({**HIV_NEEDLESTICK, "occurred_at": (T0 - timedelta(minutes=30)).isoformat()},
                        {"exposure_type": "intact_skin"}):
            assert api.post("/api/cases", json={"line": "sharps", "answers": answers}).status_code == 201
    return url


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    status = rules_check.main(list(argv), out=out, err=err)
    return status, out.getvalue(), err.getvalue()


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_the_live_file_changes_nothing_and_exits_0(tmp_path, database):
    status, out, _ = run(str(RULES_DIR / f"{LIVE}.yaml"), "--database-url", database)
    assert status == 0
    assert f"Candidate {LIVE} against the live {LIVE}: 2 past sharps cases replayed" in out
    assert "Changed: 0 (0 would move down, 0 up)" in out
    assert "already a released version" in out


def test_a_weakened_file_prints_the_cases_that_would_move_down_and_exits_1(tmp_path, database):
    path = write(tmp_path, "sharps-2099.1.1.yaml", weakened())
    status, out, _ = run(str(path), "--database-url", database)
    assert status == 1
    assert "Changed: 1 (1 would move down, 0 up)" in out
    row = next(line for line in out.splitlines() if line.startswith("SH-000001"))
    assert row.split()[:5] == ["SH-000001", LIVE, "emergency", "urgent", "DOWN"] and "-hiv_pep" in row
    assert "SH-000002" not in out
    assert "must be examined" in out


def test_nothing_is_written_to_the_database(tmp_path, database):
    engine = make_engine(database)
    count = select(func.count()).select_from(CaseEvent)
    with make_session_factory(engine)() as session:
        before = session.scalar(count)
    run(str(write(tmp_path, "candidate.yaml", weakened())), "--database-url", database)
    with make_session_factory(engine)() as session:
        assert session.scalar(count) == before
    engine.dispose()


def test_json_is_the_apis_answer(tmp_path, database):
    status, out, _ = run(str(write(tmp_path, "candidate.yaml", weakened())), "--database-url", database, "--json")
    body = json.loads(out)
    assert status == 1 and body["candidate_version"] == "sharps-2099.1.1" and body["cases"] == 2
    assert [c["ref"] for c in body["changed"]] == ["SH-000001"]


def test_an_invalid_file_exits_2_naming_the_line(tmp_path, database):
    text = weakened().replace("tier: urgent", "tier: critical", 1)
    line = next(n for n, t in enumerate(text.splitlines(), 1) if "tier: critical" in t)
    status, out, err = run(str(write(tmp_path, "candidate.yaml", text)), "--database-url", database)
    assert (status, out) == (2, "")
    assert f"candidate.yaml: line {line}: rule #" in err and "unknown tier 'critical'" in err


def test_a_file_named_as_a_version_must_carry_that_version(tmp_path, database):
    status, _, err = run(str(write(tmp_path, "sharps-2099.1.2.yaml", weakened())), "--database-url", database)
    assert status == 2 and "must equal the file name stem 'sharps-2099.1.2'" in err


def test_a_missing_file_or_database_is_not_a_pass(tmp_path, database):
    assert run(str(tmp_path / "nope.yaml"), "--database-url", database)[0] == 2
    status, _, err = run(str(RULES_DIR / f"{LIVE}.yaml"), "--database-url", f"sqlite:///{tmp_path / 'none.db'}")
    assert status == 3 and "no database at" in err
    assert not (tmp_path / "none.db").exists()  # not created empty, which would replay nothing and pass
    empty = tmp_path / "empty.db"
    empty.touch()
    assert run(str(RULES_DIR / f"{LIVE}.yaml"), "--database-url", f"sqlite:///{empty}")[0] == 3  # no tables


def test_the_module_reads_database_url_from_the_environment(tmp_path, database):
    path = write(tmp_path, "sharps-2099.1.1.yaml", weakened())
    env = {**os.environ, "DATABASE_URL": database, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "scripts.rules_check", str(path)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 1, done.stderr
    assert "SH-000001" in done.stdout


def test_make_rules_check_runs_the_script():
    done = subprocess.run(["make", "-n", "rules-check", "FILE=api/triage/rules/x.yaml"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60, check=False)
    assert '-m scripts.rules_check "api/triage/rules/x.yaml"' in done.stdout
