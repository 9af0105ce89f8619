"""Fixtures for action tests: the real domain (domain.yml via Rasa's loader), a fresh
dispatcher, a respx-mocked API, and a fixed London clock."""
from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any, Dict, Optional

import httpx
import pytest
import respx
from rasa_sdk.executor import CollectingDispatcher

import actions.forms
import actions.handoff

API_URL = "http://helpline-api.test"
TOKEN = "test-token"
NOW = datetime(2026, 11, 23, 15, 0, tzinfo=actions.forms.LONDON)  # a Monday, 3pm
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def domain() -> Dict[str, Any]:
    from rasa.shared.core.domain import Domain

    return Domain.load(str(ROOT / "domain.yml")).as_dict()


@pytest.fixture
def dispatcher() -> CollectingDispatcher:
    return CollectingDispatcher()


@pytest.fixture(autouse=True)
def settings(monkeypatch):
    monkeypatch.setenv("HELPLINE_API_URL", API_URL)
    monkeypatch.setenv("HELPLINE_BOT_TOKEN", TOKEN)  # the action server's own token (issue #15)
    monkeypatch.delenv("HELPLINE_API_TOKEN", raising=False)
    monkeypatch.delenv("ENVIRONMENT", raising=False)
    monkeypatch.setenv("HELPLINE_API_TIMEOUT", "0.5")
    monkeypatch.delenv("HELPLINE_ONCALL_PHONE", raising=False)
    monkeypatch.setattr(actions.forms, "now_london", lambda: NOW)
    monkeypatch.setattr(actions.handoff, "now_london", lambda: NOW)


@pytest.fixture
def api():
    """Every HTTP call goes to respx; an unmatched call fails the test."""
    with respx.mock(base_url=API_URL, assert_all_called=False, assert_all_mocked=True) as router:
        # what the person was told is recorded on the case (router.routes["said"] to inspect)
        router.post(path__regex=r"^/api/cases/[^/]+/said$", name="said").respond(204)
        yield router


def case_json(ref: str = "SH-000123", *, line: str = "sharps", kind: str = "exposure",
              urgency: Optional[str] = "urgent", page_on_call: bool = True,
              go_to_ed: bool = False, advice=None, route: Optional[str] = None,
              page_not_before: Optional[str] = None, decision: bool = True,
              paged: Optional[bool] = None, call_by: str = "2026-11-23T16:00:00+00:00",
              accepted_by: Optional[str] = None) -> Dict[str, Any]:
    """A case as the API returns it. Like the API with someone on the rota, an escalating
    decision that is not held has a page out (`paged=False`: nobody could be paged)."""
    if paged is None:
        paged = bool(decision and page_on_call and urgency in ("urgent", "emergency") and not page_not_before)
    pages = [{"id": 1, "tier": "primary", "attempt": 1, "status": "acknowledged" if accepted_by else "pending",
              "urgency": urgency,
              "practitioner": {"id": 1, "name": accepted_by or "Alex Primary", "mobile": "+447700900201"},
              "not_before": None, "sent_at": "2026-11-23T15:00:00+00:00", "ack_deadline": "2026-11-23T15:15:00+00:00",
              "acknowledged_at": None, "acknowledged_by": accepted_by}] if paged else []
    return {
        "ref": ref, "line": line, "kind": kind, "status": "triaged", "urgency": urgency,
        "channel": "web", "conversation_id": "conv-123", "organisation": None,
        "contact": {}, "answers": {},
        "decision": {
            "urgency": urgency, "go_to_emergency_department": go_to_ed, "page_on_call": page_on_call,
            "pep_window_open": None, "advice": advice or [], "rules_fired": [], "rule_version": "t",
            "route": route, "page_not_before": page_not_before,
        } if decision else None,
        "owner": None, "pages": pages, "on_call": None, "call_by": call_by if paged else None,
        "created_at": "2026-11-23T15:00:00+00:00", "updated_at": "2026-11-23T15:00:00+00:00",
    }


def body(call) -> Dict[str, Any]:
    return json.loads(call.request.content)


def calls(router) -> list:
    """(method, path) of every request made, in order."""
    return [(c.request.method, c.request.url.path) for c in router.calls]


CONNECT_ERROR = httpx.ConnectError("connection refused")
TIMEOUT = httpx.ReadTimeout("timed out")
