"""Turns rows into the response shapes of api/schemas.py."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from api.domain.escalation import RotaSnapshot
from api.models import Case
from api.services import rota
from api.services.paging import callback_deadline, page_view


def case_read(session: Session, case: Case, *, now: datetime, snapshot: RotaSnapshot | None = None) -> dict[str, Any]:
    """`snapshot` lets a list share one rota look-up instead of one per case."""
    snapshot = snapshot or rota.snapshot(session, now)
    on_call = snapshot.primary[0] if snapshot.primary else (snapshot.backup[0] if snapshot.backup else None)
    org = case.organisation
    return {
        "ref": case.ref, "line": case.line, "kind": case.kind, "status": case.status, "urgency": case.urgency,
        "channel": case.channel, "conversation_id": case.conversation_id,
        "organisation": {"code": org.code, "name": org.name, "type": org.type} if org else None,
        "contact": case.contact or {}, "answers": case.answers or {}, "decision": case.decision,
        "rule_version": case.rule_version,
        "owner": {"id": case.owner.id, "name": case.owner.name} if case.owner else None,
        "pages": [page_view(p) for p in case.pages],
        "call_by": callback_deadline(case),
        "on_call": {"id": on_call.id, "name": on_call.name, "mobile": on_call.mobile} if on_call else None,
        "summary": case.summary, "outcome": case.outcome,
        "created_at": case.created_at, "updated_at": case.updated_at, "triaged_at": case.triaged_at,
        "escalated_at": case.escalated_at, "acknowledged_at": case.acknowledged_at, "closed_at": case.closed_at,
    }


STATUS_WORDS = {
    "open": "Received", "triaged": "Received and triaged", "escalated": "With the on-call OH practitioner",
    "acknowledged": "Accepted by an OH practitioner", "in_progress": "Being handled by OH",
    "follow_up": "Awaiting follow-up", "closed": "Closed",
}
# What happens next, said after the one status (never a second status, never a raw time).
NEXT_WORDS = {
    "open": "OH will be in touch.", "triaged": "OH will be in touch.",
    "escalated": "The on-call OH practitioner has been told and will call back.",
    "acknowledged": "An OH practitioner is handling it.", "in_progress": "An OH practitioner is handling it.",
    "follow_up": "OH has planned a follow-up.", "closed": "If you need more, contact OH and quote the reference.",
}
REPORT_RELEASED = "OH has released an outcome report: read it on the managers' referral pages."


def case_status_read(case: Case, *, now: datetime, referral_words: str | None = None,
                     report_released: bool = False) -> dict[str, Any]:
    """One status in the asker's words (a referral's is the manager pages' own, from
    api/services/referrals.py) and what happens next."""
    return {
        "ref": case.ref, "line": case.line, "status": case.status, "urgency": case.urgency,
        "updated_at": case.updated_at,
        "status_words": referral_words or STATUS_WORDS.get(case.status, case.status),
        "summary": REPORT_RELEASED if report_released else NEXT_WORDS.get(case.status, ""),
    }
