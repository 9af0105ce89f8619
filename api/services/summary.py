"""A one-line, name-free summary of a case for pages and the dashboard."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from api.models import Case

_ROUTE = {
    "percutaneous": "sharps injury",
    "mucocutaneous": "splash to eyes/mouth/nose",
    "non_intact_skin": "onto broken skin",
    "intact_skin": "onto intact skin",
}


def _source(source: dict[str, Any]) -> str:
    names = {"hiv": "HIV", "hbv": "HBV", "hcv": "HCV"}
    said = [names[v] + "+" for v in names if source.get(v) == "positive"]
    said += [names[v] + "?" for v in names if source.get(v) == "suspected"]
    if said:
        return "source " + "/".join(said)
    if source.get("identified") is False:
        return "source unknown"
    return ""


def case_summary(case: Case, *, now: datetime) -> str:
    answers = case.answers or {}
    if case.kind == "crisis":
        return "Crisis words: risk to life possible."
    if case.line == "manager":
        reason = answers.get("reason") or answers.get("topic") or case.kind
        return f"Manager {case.kind}: {reason}."
    bits = [_ROUTE.get(answers.get("exposure_type", ""), "exposure (route unknown)")]
    if answers.get("fluid") and answers["fluid"] != "unknown":
        bits.append(str(answers["fluid"]).replace("_", " "))
    source = _source(answers.get("source") or {})
    if source:
        bits.append(source)
    hours = (case.decision or {}).get("hours_since_exposure")
    if isinstance(hours, (int, float)):
        bits.append(f"{hours:.1f}h ago")
    return ", ".join(bits) + "."
