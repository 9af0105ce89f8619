"""What kind a case is when nobody said: the one place the rule is written. Pure.

A sharps-line case with no kind is an exposure (someone reporting a sharps injury or splash);
a case on any other line with no kind is advice.
"""
from __future__ import annotations

from api.enums import CaseKind, Line


def kind_for(line: str, kind: str | None) -> CaseKind:
    """The case's kind: the one given, else the line's default (sharps: exposure; otherwise advice).
    ValueError for a kind that is not a CaseKind."""
    if kind:
        return CaseKind(kind)
    return CaseKind.exposure if line == Line.sharps else CaseKind.advice


def is_sharps_exposure(line: str, kind: str | None) -> bool:
    """True for a sharps-line exposure, including a sharps-line case with no kind: the cases
    the sharps rules triage and the sharps answers describe."""
    return line == Line.sharps and kind_for(line, kind) == CaseKind.exposure
