"""Which case status may follow which, and which timestamp each move stamps. Pure."""
from __future__ import annotations

from api.enums import CaseStatus as S

ALLOWED: dict[S, frozenset[S]] = {
    S.open: frozenset({S.triaged, S.escalated, S.closed}),
    S.triaged: frozenset({S.escalated, S.in_progress, S.closed}),
    S.escalated: frozenset({S.acknowledged, S.in_progress, S.closed}),
    # A later answer may raise the tier after someone acknowledged: escalate again.
    S.acknowledged: frozenset({S.escalated, S.in_progress, S.follow_up, S.closed}),
    S.in_progress: frozenset({S.escalated, S.follow_up, S.closed}),
    S.follow_up: frozenset({S.in_progress, S.closed}),
    S.closed: frozenset({S.in_progress}),  # reopen
}

# The column each status stamps the first time the case reaches it.
MILESTONE_COLUMN: dict[S, str] = {
    S.triaged: "triaged_at",
    S.escalated: "escalated_at",
    S.acknowledged: "acknowledged_at",
    S.in_progress: "in_progress_at",
    S.follow_up: "follow_up_at",
    S.closed: "closed_at",
}

OPEN_STATUSES = frozenset(S) - {S.closed}


class IllegalTransition(ValueError):
    def __init__(self, current: str, target: str) -> None:
        allowed = ", ".join(sorted(ALLOWED[S(current)])) or "none"
        super().__init__(f"a case in status '{current}' cannot move to '{target}' (allowed: {allowed})")
        self.current = current
        self.target = target


def check_transition(current: str, target: str) -> S:
    """Return the target status, or raise IllegalTransition."""
    try:
        cur, tgt = S(current), S(target)
    except ValueError as exc:
        raise IllegalTransition(current, target) from exc
    if tgt not in ALLOWED[cur]:
        raise IllegalTransition(current, target)
    return tgt


def can_transition(current: str, target: str) -> bool:
    try:
        check_transition(current, target)
    except IllegalTransition:
        return False
    return True
