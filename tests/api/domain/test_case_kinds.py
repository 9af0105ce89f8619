"""The one rule for a case with no kind: on the sharps line an exposure, otherwise advice."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from api.domain.case_kinds import is_sharps_exposure, kind_for
from api.enums import CaseKind, Line
from api.services.decisions import decide


@pytest.mark.parametrize("line, kind, expected", [
    (Line.sharps, None, CaseKind.exposure),
    (Line.sharps, "", CaseKind.exposure),
    ("sharps", None, CaseKind.exposure),
    (Line.manager, None, CaseKind.advice),
    (Line.sharps, "advice", CaseKind.advice),
    (Line.sharps, CaseKind.crisis, CaseKind.crisis),
    (Line.manager, "referral", CaseKind.referral),
])
def test_kind_for(line, kind, expected):
    assert kind_for(line, kind) is expected


def test_an_unknown_kind_is_refused():
    with pytest.raises(ValueError):
        kind_for(Line.sharps, "gossip")


@pytest.mark.parametrize("line, kind, expected", [
    (Line.sharps, None, True),
    (Line.sharps, "exposure", True),
    (Line.sharps, "advice", False),
    (Line.sharps, "crisis", False),
    (Line.manager, None, False),
    (Line.manager, "referral", False),
])
def test_is_sharps_exposure(line, kind, expected):
    assert is_sharps_exposure(line, kind) is expected


def test_a_sharps_case_with_no_kind_is_triaged_as_an_exposure():
    now = datetime(2026, 11, 23, 3, 0, tzinfo=timezone.utc)
    answers = {"exposure_type": "percutaneous", "fluid": "blood", "source": {"identified": True, "hiv": "positive"}}
    without = decide(line=Line.sharps, kind=None, answers=answers, summary=None, now=now)
    with_kind = decide(line=Line.sharps, kind=CaseKind.exposure, answers=answers, summary=None, now=now)
    assert without == with_kind and without["urgency"] == "emergency"
