"""Replay a candidate rule file over past cases before it is released (issue #17).

For each past case of the line that the rules have decided (it has an urgency), its stored
answers, kind and summary are decided twice at its ORIGINAL decision time (its latest `triaged`
event; else `triaged_at`, else `created_at`), through `decisions.decide` like every live decision:

- `was`: the LIVE rule set (the newest shipped file for the line);
- `now`: the candidate.

So the diff is candidate vs live, on identical inputs at an identical moment: replaying the live
file itself gives `changed: []` by construction, and anything listed is the candidate's doing.
(The stored decision may differ from `was`: the case may have been decided under an older
version, `decided_under`, or raised by a later answer after a page went out.)

Read only: three SELECTs (the cases, their latest `triaged` times, their newest reviews:
api/services/reviews.py newest_urgencies), no ORM
objects, nothing added, nothing flushed, no page, no outbox row, no event. A replay changes
no state, so there is no case event to write; it is logged.

The crisis rules are the manager file's: a manager candidate is used for both the manager
rules and the crisis rules; a sharps candidate leaves crisis decisions to the live manager
file. Only cases of the candidate's line are replayed (a sharps-line request for a person, or
a sharps case with crisis words, is decided partly by the manager rules but is not replayed
with a manager candidate).
"""
from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from api.domain.replay_diff import CaseReplay, ReplayDiff
from api.enums import Line
from api.models import Case, CaseEvent
from api.services import decisions, reviews
from api.triage.ruleset import RuleSet, available_versions, load_rules, parse_ruleset

log = logging.getLogger(__name__)

#: the largest rule file accepted for a replay (the shipped files are about 30 KB)
MAX_RULE_FILE_BYTES = 256 * 1024
LINES = (Line.sharps.value, Line.manager.value)


class RuleFileTooLarge(ValueError):
    pass


def candidate(text: str, *, line: str) -> RuleSet:
    """The candidate rule set from its text, validated as the shipped files are (RuleSetError
    names the line); it must be for `line`."""
    if line not in LINES:
        raise ValueError(f"unknown line {line!r}; expected one of {LINES}")
    if len(text.encode("utf-8")) > MAX_RULE_FILE_BYTES:
        raise RuleFileTooLarge(f"the rule file is larger than {MAX_RULE_FILE_BYTES // 1024} KB")
    return parse_ruleset(text, line=line)


def _filters(line: str, since: datetime | None) -> list:
    # Decided at least once: the rules gave it an urgency (and in practice a rule version).
    where = [Case.line == line, or_(Case.rule_version.is_not(None), Case.urgency.is_not(None))]
    if since is not None:
        where.append(Case.created_at >= since)
    return where


def _cases(session: Session, line: str, since: datetime | None, limit: int | None) -> list[Any]:
    query: Select = select(Case.id, Case.ref, Case.kind, Case.answers, Case.summary, Case.rule_version, Case.urgency,
                           Case.triaged_at, Case.created_at).where(*_filters(line, since))
    if limit is not None:  # the newest `limit` cases, replayed oldest first
        return list(reversed(session.execute(query.order_by(Case.id.desc()).limit(limit)).all()))
    return list(session.execute(query.order_by(Case.id)).all())


def _decided_at(session: Session, line: str, since: datetime | None, first_id: int) -> dict[int, datetime]:
    """Each case's latest `triaged` event: when its stored decision was made."""
    rows = session.execute(
        select(CaseEvent.case_id, func.max(CaseEvent.created_at))
        .join(Case, Case.id == CaseEvent.case_id)
        .where(CaseEvent.type == "triaged", Case.id >= first_id, *_filters(line, since))
        .group_by(CaseEvent.case_id))
    return {case_id: at for case_id, at in rows if at is not None}


def _run(line: str, rules: RuleSet, row: Any, at: datetime) -> dict[str, Any]:
    override = {"sharps_rules": rules} if line == Line.sharps else {"manager_rules": rules}
    return decisions.decide(line=line, kind=row.kind, answers=dict(row.answers or {}), summary=row.summary, now=at,
                            **override)


def replay_rules(session: Session, *, line: str, rules: RuleSet, since: datetime | None = None,
                 limit: int | None = None) -> ReplayDiff:
    """Replay a validated rule set over the line's past cases (see the module docstring)."""
    if rules.line != line:
        raise ValueError(f"{rules.version} is not a {line} rule set")
    live = load_rules(line)
    rows = _cases(session, line, since, limit)
    first_id = rows[0].id if rows else 0
    decided_at = _decided_at(session, line, since, first_id) if rows else {}
    reviewed = reviews.newest_urgencies(session, [Case.id >= first_id, *_filters(line, since)]) if rows else {}
    replays: list[CaseReplay] = []
    for row in rows:
        at = decided_at.get(row.id) or row.triaged_at or row.created_at
        replays.append(CaseReplay.of(
            ref=row.ref, decided_at=at, decided_under=row.rule_version, stored=row.urgency,
            reviewed=reviewed.get(row.id), was=_run(line, live, row, at), now=_run(line, rules, row, at)))
    diff = ReplayDiff(line=line, candidate_version=rules.version, live_version=live.version,
                      version_released=rules.version in available_versions(line), cases=tuple(replays))
    log.info("rules replay: %s against %s over %d %s cases: %d changed, %d would move down",
             rules.version, live.version, len(replays), line, len(diff.changed), len(diff.moved_down))
    return diff


def replay(session: Session, *, line: str, rules_yaml: str, since: datetime | None = None,
           limit: int | None = None) -> ReplayDiff:
    """Validate a candidate rule file's text for `line` and replay it (RuleSetError names the
    line of the text; RuleFileTooLarge above MAX_RULE_FILE_BYTES)."""
    return replay_rules(session, line=line, rules=candidate(rules_yaml, line=line), since=since, limit=limit)

