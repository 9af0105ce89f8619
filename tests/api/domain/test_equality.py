"""The equality questions, their codes, and the suppression of small counts (api/domain/equality.py)."""
from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from api.domain import equality as eq
from api.domain.equality import Cell


# -- the questions and codes (docs/contract.md "Equality of access") ------------------------------------

def test_the_codes_are_the_contracts_table():
    assert {q: list(question.answers) for q, question in eq.QUESTIONS.items()} == {
        "age_band": ["16-24", "25-34", "35-44", "45-54", "55-64", "65+", "prefer_not_to_say"],
        "sex": ["female", "male", "prefer_not_to_say"],
        "ethnic_group": ["A", "B", "C", "D", "E", "F", "G", "H", "J", "K", "L", "M", "N", "P", "R", "S", "Z"],
        "disability": ["yes", "no", "prefer_not_to_say"],
        "staff_group": ["doctor", "nurse_or_midwife", "healthcare_assistant", "pharmacist",
                        "pharmacy_technician_or_assistant", "allied_health_professional", "admin_or_reception",
                        "manager", "other", "prefer_not_to_say"],
        "organisation_type": ["gp_practice", "community_pharmacy", "federation", "other", "prefer_not_to_say"],
    }
    for question in eq.QUESTIONS.values():
        assert question.label and all(label and "_" not in label for label in question.answers.values())


def test_the_nhs_ethnic_categories_fall_in_five_broad_groups_and_not_stated():
    groups: dict[str, list[str]] = {}
    for code in eq.QUESTIONS["ethnic_group"].answers:
        groups.setdefault(eq.broad_group(code), []).append(code)
    assert groups == {
        "White": ["A", "B", "C"],
        "Mixed or multiple": ["D", "E", "F", "G"],
        "Asian or Asian British": ["H", "J", "K", "L"],
        "Black, Black British, Caribbean or African": ["M", "N", "P"],
        "Other ethnic group": ["R", "S"],
        "Not stated": ["Z"],
    }
    assert eq.answer_label("ethnic_group", "A") == "White British"
    assert eq.answer_label("ethnic_group", "R") == "Chinese"
    assert eq.broad_group("prefer_not_to_say") is None


def test_normalise_keeps_codes_skips_missing_answers_and_stores_prefer_not_to_say_as_z():
    assert eq.normalise({"age_band": "25-34", "sex": None, "ethnic_group": "prefer_not_to_say",
                         "organisation_type": "prefer_not_to_say"}) == {
        "age_band": "25-34", "ethnic_group": "Z", "organisation_type": "prefer_not_to_say"}
    assert eq.normalise({"ethnic_group": "Z"}) == {"ethnic_group": "Z"}


@pytest.mark.parametrize(("answers", "question", "words"), [
    ({"age_band": "30"}, "age_band", "'30' is not an answer to age_band"),
    ({"sex": "Female"}, "sex", "Choose one of female, male, prefer_not_to_say"),
    ({"ethnic_group": "I"}, "ethnic_group", "'I' is not an answer to ethnic_group"),
    ({"disability": True}, "disability", "not an answer to disability"),
    ({"religion": "none"}, "religion", "There is no question called 'religion'"),
    ({}, None, "No answers were given"),
    ({"sex": None}, None, "No answers were given"),
])
def test_normalise_refuses_unknown_questions_codes_and_no_answers_naming_the_question(answers, question, words):
    with pytest.raises(eq.InvalidAnswers) as caught:
        eq.normalise(answers)
    assert caught.value.question == question
    assert words in str(caught.value)


@pytest.mark.parametrize(("today", "start"), [
    (date(2026, 11, 23), date(2025, 11, 24)),
    (date(2028, 2, 29), date(2027, 3, 1)),
    (date(2027, 1, 1), date(2026, 1, 2)),
])
def test_the_default_period_is_the_last_12_months_to_today(today, start):
    assert eq.default_period(today) == (start, today)


# -- suppression ----------------------------------------------------------------------------------------

def _one_group(*counts: int) -> dict:
    """suppress() on one group of parts a, b, c... with their sum as the total: key -> cell."""
    cells = eq.group_cells([(chr(ord("a") + i), n) for i, n in enumerate(counts)], "g")
    return {c.key: c for c in eq.suppress(cells)}


def _shown(cells: dict) -> dict:
    return {k: c.text for k, c in cells.items()}


def test_primary_suppression_hides_every_count_below_5_zero_included():
    cells = _one_group(7, 3, 0, 6)
    assert _shown(cells) == {"a": "7", "b": "<5", "c": "<5", "d": "6", ("g", "total"): "16"}
    assert (cells["b"].count, cells["b"].suppressed, cells["b"].percent) == (None, True, None)
    assert (cells["a"].count, cells["a"].suppressed, cells["a"].percent) == (7, False, 43.8)
    assert cells["c"].count is None


def test_one_hidden_3_beside_shown_cells_hides_one_more():
    # 24 - 7 - 5 - 9 would be 3: the next smallest, the 5, is hidden too.
    cells = _one_group(7, 5, 3, 9)
    assert _shown(cells) == {"a": "7", "b": "<5", "c": "<5", "d": "9", ("g", "total"): "24"}
    assert cells["b"].percent is None and cells["a"].percent == 29.2


def test_the_first_of_equal_counts_is_the_one_hidden():
    assert _shown(_one_group(6, 6, 2)) == {"a": "<5", "b": "6", "c": "<5", ("g", "total"): "14"}


def test_a_group_where_everyone_gave_one_answer_shows_that_count():
    # The hidden zeros are worked out as zeros, which names nobody: nothing more is hidden.
    cells = _one_group(12, 0, 0)
    assert _shown(cells) == {"a": "12", "b": "<5", "c": "<5", ("g", "total"): "12"}
    assert cells["a"].percent == 100.0
    assert _shown(_one_group(7, 5, 0, 0)) == {"a": "7", "b": "5", "c": "<5", "d": "<5", ("g", "total"): "12"}


def test_hidden_small_counts_that_share_the_remainder_need_nothing_more():
    # 10 - 7 = 3 shared by the 3 and the zeros: none of them can be told.
    assert _shown(_one_group(7, 3, 0, 0)) == {"a": "7", "b": "<5", "c": "<5", "d": "<5", ("g", "total"): "10"}


def test_a_total_below_5_is_hidden_with_its_parts():
    cells = _one_group(2, 1, 0)
    assert all(c.suppressed and c.count is None for c in cells.values())


def test_nothing_is_hidden_when_every_count_is_5_or_more():
    cells = _one_group(5, 6, 12)
    assert _shown(cells) == {"a": "5", "b": "6", "c": "12", ("g", "total"): "23"}
    assert [cells[k].percent for k in "abc"] == [21.7, 26.1, 52.2]


def test_suppress_refuses_repeated_keys_and_negative_counts():
    with pytest.raises(ValueError, match="share the key"):
        eq.suppress([Cell("a", 5), Cell("a", 6)])
    with pytest.raises(ValueError, match="no count"):
        eq.suppress([Cell("a", -1)])


def _table_cells(rows: list[list[int]]) -> list[Cell]:
    """A table with its margins: cell (i, j) in row i and column j; the row totals add up to the
    grand total ("all",), and so do the column totals."""
    n_rows, n_cols = len(rows), len(rows[0])
    cells = [Cell((i, j), rows[i][j], groups=(("row", i), ("col", j))) for i in range(n_rows) for j in range(n_cols)]
    cells += [Cell(("row", i), sum(rows[i]), groups=(("rows",),), total_of=(("row", i),)) for i in range(n_rows)]
    cells += [Cell(("col", j), sum(r[j] for r in rows), groups=(("cols",),), total_of=(("col", j),))
              for j in range(n_cols)]
    cells.append(Cell(("all",), sum(map(sum, rows)), total_of=(("rows",), ("cols",))))
    return cells


def test_a_cell_in_two_groups_is_protected_in_both():
    """A 2 x 2 table with its margins: the hidden 3 would be known from its row total (3 + 9) and
    from its column total (3 + 8); one cell hidden per line is not enough, so the pattern closes."""
    out = {c.key: c for c in eq.suppress(_table_cells([[3, 9], [8, 7]]))}
    hidden = {k for k, c in out.items() if c.suppressed}
    assert hidden == {(0, 0), (0, 1), (1, 0), (1, 1)}
    assert [out[("row", 0)].count, out[("col", 0)].count, out[("all",)].count] == [12, 11, 27]


def test_a_zero_worked_out_in_one_line_does_not_shield_a_small_count_in_another():
    """The middle column adds up to 0 (24 - 11 - 13), so both its cells are known zeros; the first
    row would then give its 3 away (9 - 0 - 6), and the second row the 8 hidden to protect that 3 in
    the first column (15 - 0 - 7): each row hides its other count too."""
    rows = [[3, 0, 6], [8, 0, 7]]
    out = {c.key: c for c in eq.suppress(_table_cells(rows))}
    hidden = {k for k, c in out.items() if c.suppressed}
    assert hidden == {(0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (1, 2), ("col", 1)}
    assert [out[("row", 0)].count, out[("row", 1)].count, out[("col", 0)].count, out[("all",)].count] == [9, 15, 11, 24]


# -- the property: no hidden count of 1 to 4 can be worked out by subtraction ------------------------------

def _worked_out(cells: list[Cell], out: list[Cell]) -> dict:
    """key -> count for every cell whose count follows from the cells shown, by subtraction repeated
    across groups, counts being whole numbers of at least 0 (every hidden cell reads the same "<5"):
    a group's only unknown is its total less the rest; unknowns sharing a remainder of 0 are each
    0; a total whose parts are all known is their sum."""
    known = {c.key: c.count for c in out if not c.suppressed}
    parts: dict = {}
    totals: dict = {}
    for cell in cells:
        for group in cell.groups:
            parts.setdefault(group, []).append(cell.key)
        for group in cell.total_of:
            totals[group] = cell.key
    changed = True
    while changed:
        changed = False
        for group, keys in parts.items():
            total = totals[group]
            unknown = [k for k in keys if k not in known]
            if total not in known:
                if not unknown:
                    known[total] = sum(known[k] for k in keys)
                    changed = True
                continue
            remainder = known[total] - sum(known[k] for k in keys if k in known)
            if len(unknown) == 1:
                known[unknown[0]] = remainder
                changed = True
            elif unknown and remainder == 0:
                known.update(dict.fromkeys(unknown, 0))
                changed = True
    return known


def _assert_nothing_small_given_away(cells: list[Cell], out: list[Cell]) -> None:
    truth = {c.key: c.count for c in cells}
    known = _worked_out(cells, out)
    assert all(known[k] == truth[k] for k in known), "the shown counts are the true counts"
    given_away = {k: truth[k] for k in known if 0 < truth[k] < eq.SUPPRESS_BELOW}
    assert not given_away, ({c.key: c.text for c in out}, given_away)
    shown = {c.key: c for c in out}
    assert all(c.suppressed == (c.count is None) for c in out)
    assert all(c.suppressed or c.count >= eq.SUPPRESS_BELOW for c in out)
    if not any(0 < n < eq.SUPPRESS_BELOW for n in truth.values()):
        # Nothing small to protect: only the zeros are hidden (a zero worked out names nobody).
        assert all(shown[k].suppressed == (n == 0) for k, n in truth.items()), {c.key: c.text for c in out}


#: counts as reports have them: many zeros, some small, some not
COUNTS = st.one_of(st.just(0), st.integers(min_value=1, max_value=4), st.integers(min_value=5, max_value=40))


@given(st.lists(COUNTS, min_size=1, max_size=12))
def test_with_the_total_shown_no_small_hidden_count_can_be_worked_out(counts):
    cells = eq.group_cells([(chr(ord("a") + i), n) for i, n in enumerate(counts)], "g")
    out = eq.suppress(cells)
    by_key = {c.key: c for c in out}
    total = by_key[("g", "total")]
    parts = [by_key[chr(ord("a") + i)] for i in range(len(counts))]
    assert total.suppressed == (sum(counts) < eq.SUPPRESS_BELOW)
    _assert_nothing_small_given_away(cells, out)
    assert all((c.percent is None) == (c.suppressed or total.suppressed) for c in parts)


@given(st.lists(st.lists(COUNTS, min_size=2, max_size=4), min_size=2, max_size=4)
       .filter(lambda rows: len({len(r) for r in rows}) == 1))
def test_in_a_table_with_margins_no_small_hidden_count_can_be_worked_out(rows):
    cells = _table_cells(rows)
    _assert_nothing_small_given_away(cells, eq.suppress(cells))
