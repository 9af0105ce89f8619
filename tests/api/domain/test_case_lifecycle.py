import pytest

from api.domain.case_lifecycle import ALLOWED, MILESTONE_COLUMN, IllegalTransition, can_transition, check_transition
from api.enums import CaseStatus as S


@pytest.mark.parametrize("current, target", [(c, t) for c, ts in ALLOWED.items() for t in sorted(ts)])
def test_allowed_moves(current, target):
    assert check_transition(current, target) == target


@pytest.mark.parametrize("current, target", [
    (S.open, S.acknowledged), (S.closed, S.escalated), (S.triaged, S.follow_up), (S.follow_up, S.escalated),
    (S.escalated, S.open), ("open", "nonsense"),
])
def test_illegal_moves_raise_with_the_allowed_list(current, target):
    with pytest.raises(IllegalTransition) as err:
        check_transition(current, target)
    assert "cannot move" in str(err.value)
    assert not can_transition(current, target)


def test_every_status_but_open_stamps_a_milestone():
    assert set(MILESTONE_COLUMN) == set(S) - {S.open}
    assert all(ALLOWED[s] for s in S)  # no dead ends: even closed can be reopened
