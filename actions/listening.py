"""What a sharps conversation does with the facts a message volunteers (actions/reader.py).

Pure: no Rasa, no I/O. The rules, in the order they are applied to each fact heard:

- a question not yet answered (or answered "don't know") takes the fact as its answer, so it
  is never asked;
- a fact that agrees with the answer already given changes nothing;
- a fact that raises the risk over an answer already given ("actually there was blood on it")
  replaces it at once: acting on it late is the dangerous mistake;
- a fact that would lower the risk, or contradicts an answer without being riskier, is never
  applied silently: it waits for the person to confirm it (one at a time);
- a hedge ("not that I know of") never replaces anything, and the list answers (the source's
  viruses and risk factors) only ever grow, except through a confirmed change.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Dict, Mapping, Optional, Sequence, Tuple

from actions import names as n
from actions.reader import BBV_ORDER
from actions.reader import RISK_ORDER as RISK_FACTORS

VIRUSES = ("hiv", "hbv", "hcv")
# Canonical order of the risk list: the factors, then the form's "none" and "don't know".
RISK_ORDER = RISK_FACTORS + ("none", n.UNKNOWN)

# Higher = riskier. Values at the same rank contradict without either being safer.
RANK: Dict[str, Dict[str, int]] = {
    n.SLOT_EXPOSURE_TYPE: {"percutaneous": 3, "mucocutaneous": 3, "non_intact_skin": 2, "intact_skin": 0},
    n.SLOT_FLUID: {"blood": 3, "blood_stained": 3, "high_risk_other": 3, "low_risk": 0},
    n.SLOT_FLUID_BLOOD: {n.YES: 1, n.NO: 0},
    n.SLOT_DEVICE_USED: {n.YES: 1, n.NO: 0},
    n.SLOT_VISIBLE_BLOOD: {n.YES: 1, n.NO: 0},
    n.SLOT_DEVICE_IN_VESSEL: {n.YES: 1, n.NO: 0},
    n.SLOT_INJURY_DEEP: {n.YES: 1, n.NO: 0},
    n.SLOT_HBV_STATUS: {"responder": 0, "vaccinated": 1, "partial": 1, "non_responder": 2, "unvaccinated": 2},
    n.SLOT_PREGNANCY: {"pregnant": 1, "breastfeeding": 1, "neither": 0},
    n.SLOT_INJURY_BITE: {n.YES: 1},
}
# Two times further apart than this are a contradiction, not the same moment said twice.
TIME_SLACK_MINUTES = 60


@dataclass
class Merge:
    """What to do with one message's facts."""

    set: Dict[str, Any] = field(default_factory=dict)
    #: (slot, value, words) of the first contradiction that needs the person's "yes"
    confirm: Optional[Tuple[str, Any, str]] = None
    #: slot -> the words each applied fact came from
    words: Dict[str, str] = field(default_factory=dict)


def is_empty(value: Any) -> bool:
    """Not answered, or answered "don't know": a fact may fill it."""
    if value is None or value == n.UNKNOWN:
        return True
    return isinstance(value, list) and all(v == n.UNKNOWN for v in value)


def _ordered(values, order: Sequence[str]) -> list:
    return [v for v in order if v in set(values)]


def _viruses(values) -> Tuple[set, set, set]:
    """(positive viruses, suspected ones, viruses with a stated negative test)."""
    values = set(values or [])
    positive = {v for v in VIRUSES if v in values}
    suspected = {v for v in VIRUSES if f"{v}_suspected" in values} - positive
    negative = {v for v in VIRUSES if f"{v}_negative" in values or "none" in values}
    return positive, suspected, negative


def merge_bbv(current: list, heard: list) -> Tuple[Optional[list], bool]:
    """(the new list or None for no change, whether a lowering change needs confirming).
    A suspicion counts like a positive here: a later negative about it is confirmed first."""
    if heard == [n.UNKNOWN]:
        return None, False
    had_pos, had_sus, had_neg = _viruses(current)
    new_pos, new_sus, new_neg = _viruses(heard)
    if new_neg & (had_pos | had_sus):
        return None, True
    positive = had_pos | new_pos
    suspected = (had_sus | new_sus) - positive
    negative = (had_neg | new_neg) - positive - suspected
    if not (positive or suspected or negative):
        return None, False
    if negative == set(VIRUSES):
        merged = ["none"]
    else:
        merged = sorted(positive, key=VIRUSES.index) + [f"{v}_suspected" for v in VIRUSES if v in suspected] \
            + [f"{v}_negative" for v in VIRUSES if v in negative]
    merged = _ordered(merged, BBV_ORDER)
    return (merged if merged != _ordered(current, BBV_ORDER) else None), False


def merge_risks(current: list, heard: list) -> Tuple[Optional[list], bool]:
    if heard == [n.UNKNOWN]:
        return None, False
    had = {v for v in current or [] if v not in ("none", n.UNKNOWN)}
    new = {v for v in heard if v not in ("none", n.UNKNOWN)}
    if not new:
        return None, bool(had)  # "none" against factors already given: confirm first
    merged = _ordered(had | new, RISK_ORDER)
    return (merged if merged != _ordered(current, RISK_ORDER) else None), False


def _minutes_apart(a: Any, b: Any) -> Optional[float]:
    try:
        return abs((datetime.fromisoformat(str(a)) - datetime.fromisoformat(str(b))).total_seconds()) / 60
    except (TypeError, ValueError):
        return None


def merge(current: Mapping[str, Any], heard: Mapping[str, Any], *, explicit: bool = False,
          confirmable: bool = True) -> Merge:
    """`heard`: slot -> Heard (value, words).

    `explicit`: the person says they are correcting an answer ("actually it was yesterday"):
    a contradiction that is not less risky is applied at once; a lowering one still waits for
    a "yes". `confirmable`: False where nobody can be asked (the form is over): a lowering
    change is then dropped, or, when explicit, applied (the API never lowers an urgency it
    has already acted on)."""
    result = Merge()

    def contradiction(slot: str, value: Any, words: str, lowering: bool) -> None:
        if explicit and (not lowering or not confirmable):
            result.set[slot], result.words[slot] = value, words
        elif confirmable and result.confirm is None:
            result.confirm = (slot, value, words)

    for slot, fact in heard.items():
        value, words = fact.value, fact.words
        old = current.get(slot)
        if is_empty(old):
            if value == [n.UNKNOWN] and old is not None:
                continue
            result.set[slot], result.words[slot] = value, words
            continue
        if slot in (n.SLOT_SOURCE_BBV, n.SLOT_SOURCE_RISK):
            merger = merge_bbv if slot == n.SLOT_SOURCE_BBV else merge_risks
            merged, lowering = merger(list(old), list(value))
            if merged is not None:
                result.set[slot], result.words[slot] = merged, words
            elif lowering:
                contradiction(slot, value, words, lowering=True)
            continue
        if value == old:
            continue
        if slot == n.SLOT_OCCURRED_AT:
            apart = _minutes_apart(old, value)
            if apart is not None and apart <= TIME_SLACK_MINUTES and not explicit:
                continue
            riskier = False
        else:
            ranks = RANK.get(slot, {})
            riskier = ranks.get(value, -1) > ranks.get(old, -1) >= 0
        if riskier:
            result.set[slot], result.words[slot] = value, words
        else:
            ranks = RANK.get(slot, {})
            contradiction(slot, value, words, lowering=ranks.get(value, 0) < ranks.get(old, 0))
    return result
