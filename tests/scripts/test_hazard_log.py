"""docs/clinical-safety/hazard-log.yml: complete entries, ratings by the matrix, and every
test it names as proof exists (a control whose test was renamed or deleted fails here)."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
LOG = ROOT / "docs" / "clinical-safety" / "hazard-log.yml"
FIELDS = ("id", "title", "cause", "effect", "severity", "likelihood_before", "risk_before", "controls",
          "verification", "severity_after", "likelihood_after", "risk_after", "status")
# MATRIX[likelihood - 1][severity - 1], as in docs/clinical-safety/README.md
MATRIX = (
    (1, 1, 2, 2, 3),
    (1, 2, 2, 3, 4),
    (2, 2, 3, 3, 4),
    (2, 3, 3, 4, 5),
    (3, 4, 4, 5, 5),
)


def hazards():
    return yaml.safe_load(LOG.read_text(encoding="utf-8"))["hazards"]


def rating(severity: int, likelihood: int) -> int:
    return MATRIX[likelihood - 1][severity - 1]


@pytest.mark.parametrize("hazard", hazards(), ids=lambda h: h.get("id", "?"))
def test_every_hazard_is_complete_and_rated_by_the_matrix(hazard):
    assert [f for f in FIELDS if hazard.get(f) in (None, "", [])] == []
    assert rating(hazard["severity"], hazard["likelihood_before"]) == hazard["risk_before"]
    assert rating(hazard["severity_after"], hazard["likelihood_after"]) == hazard["risk_after"]
    assert hazard["risk_after"] <= 3, "a residual risk of 4 or 5 is not acceptable for release"
    assert hazard["status"] in ("proposed", "accepted", "closed")


def test_hazard_ids_are_unique():
    ids = [h["id"] for h in hazards()]
    assert len(ids) == len(set(ids))


def _proof_exists(ref: str) -> bool:
    if "::" in ref:
        path, name = ref.split("::", 1)
        source = (ROOT / path).read_text(encoding="utf-8") if (ROOT / path).is_file() else ""
        return re.search(rf"^(async )?def {re.escape(name)}\(", source, re.M) is not None
    path, _, conversation = ref.partition("#")
    if not (ROOT / path).is_file():
        return False
    data = yaml.safe_load((ROOT / path).read_text(encoding="utf-8"))
    return not conversation or any(c.get("name") == conversation for c in data.get("conversations", []))


@pytest.mark.parametrize("ref", sorted({r for h in hazards() for r in h["verification"]}))
def test_every_proof_named_exists(ref):
    assert _proof_exists(ref), f"{ref} is named in the hazard log but does not exist"
