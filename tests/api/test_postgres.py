"""On a real PostgreSQL server: migrations, and two API processes that never double-page."""
from __future__ import annotations

import collections
import os
import subprocess
import sys
import time

import httpx
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from api.models import Base
from tests.api.test_migrations import _config
from tests.support import postgres
from tests.support.processes import REPO, api_process, free_port

pytestmark = pytest.mark.slow
TOKEN = "postgres-test-token-0123456789"


@pytest.fixture(scope="module")
def pg():
    server = postgres.start_or_skip()
    yield server
    server.stop()


def test_migrations_upgrade_match_models_and_downgrade(pg):
    url = pg.create_database("migrations")
    command.upgrade(_config(url), "head")
    engine = create_engine(url)
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata) == []
    command.downgrade(_config(url), "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    engine.dispose()


def test_two_api_processes_on_one_database_never_double_page(pg, tmp_path):
    url = pg.create_database("race")
    env = {**os.environ, "ENVIRONMENT": "test", "DATABASE_URL": url, "HELPLINE_API_TOKEN": TOKEN,
           "SESSION_SECRET": "postgres-test-session-secret", "ACK_SECONDS_EMERGENCY": "1",
           "WORKER_INTERVAL_SECONDS": "0.05"}
    subprocess.run([sys.executable, "-m", "alembic", "upgrade", "head"], cwd=REPO, env=env, check=True,
                   capture_output=True)
    subprocess.run([sys.executable, "-m", "api.seed"], cwd=REPO, env=env, check=True, capture_output=True)
    ports = [free_port(), free_port()]
    procs = [api_process(port, env=env, log=tmp_path / f"api{i + 1}.log", name=f"api{i + 1}")
             for i, port in enumerate(ports)]
    headers = {"Authorization": f"Bearer {TOKEN}"}
    answers = {"exposure_type": "percutaneous", "fluid": "blood", "source": {"identified": True, "hiv": "positive"}}
    try:
        for proc in procs:
            proc.start()
        refs = [
            httpx.post(f"http://127.0.0.1:{ports[i % 2]}/api/cases", json={"line": "sharps", "answers": answers},
                       headers=headers).json()["ref"]
            for i in range(12)
        ]
        time.sleep(4.5)  # about four deadlines: primary, backup, clinical lead, everyone
        for ref in refs:
            pages = httpx.get(f"http://127.0.0.1:{ports[0]}/api/cases/{ref}", headers=headers).json()["pages"]
            per_round = collections.Counter((p["attempt"], p["practitioner"]["id"]) for p in pages)
            assert max(per_round.values()) == 1, (ref, per_round)
            tiers_in_order = [p["tier"] for p in pages][:3]
            assert tiers_in_order == ["primary", "backup", "clinical_lead"], (ref, pages)
            rounds = sorted({p["attempt"] for p in pages})
            assert rounds == list(range(1, len(rounds) + 1))
    finally:
        for proc in procs:
            proc.stop()


def test_workers_that_see_the_same_overdue_page_at_once_page_the_next_step_once(pg, monkeypatch, settings, clock):
    """Forces the race: both workers read the same due pages before either claims one."""
    import threading

    from sqlalchemy import select

    from api.core.db import make_engine, make_session_factory
    from api.models import Page, RefCounter
    from api.services import cases, paging
    from tests.api.factories import HIV_NEEDLESTICK, standard_rota

    engine = make_engine(pg.create_database("threads"))
    Base.metadata.create_all(engine)
    factory = make_session_factory(engine)
    with factory() as s:
        s.add_all([RefCounter(prefix="SH", value=0), RefCounter(prefix="MA", value=0)])
        standard_rota(s, now=clock.now)
        refs = [cases.create(s, data={"line": "sharps", "answers": HIV_NEEDLESTICK}, now=clock.now,
                             settings=settings).id for _ in range(5)]
        s.commit()
    clock.advance(seconds=301)
    barrier = threading.Barrier(2)
    real = paging.due_page_ids

    def both_see_the_same(session, **kw):
        ids = real(session, **kw)
        barrier.wait(timeout=10)
        return ids

    monkeypatch.setattr(paging, "due_page_ids", both_see_the_same)

    def work():
        with factory() as s:
            paging.fire_overdue(s, now=clock.now, settings=settings)
            s.commit()

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    with factory() as s:
        for case_id in refs:
            tiers = [p.tier for p in s.scalars(select(Page).where(Page.case_id == case_id).order_by(Page.id))]
            assert tiers == ["primary", "backup"], tiers
    engine.dispose()
