"""Equality of access (issue #18): the optional questions asked at the end of a conversation, their
codes with labels in plain words, and the suppression of small counts in the report. Pure.

Every question accepts `prefer_not_to_say`; for `ethnic_group` it is stored as the NHS data
dictionary's `Z` (not stated). The codes are docs/contract.md's table, exactly.

Suppression (SUPPRESS_BELOW = 5), so that no one can be picked out of a small count:
- primary: every count below 5, zero included, is hidden ("<5", `count` None, `suppressed` True);
- secondary: a group of cells adds up to a total (the answers to one question add up to the
  responses; a row of a table by organisation type adds up to its overall count). Where a hidden
  count of 1 to 4 could be worked out from the rest (it is the only unknown of the group, total
  included), the smallest shown cell of the group is hidden too. A cell can be in several groups,
  so this repeats until no group gives a cell away. Hidden cells that can only be worked out to be
  zero are left as they are: a zero names nobody, and protecting it would hide the count of a
  group where everyone gave the same answer (12 of 12 "GP practice" shown as "<5").
A suppressed cell is shown as "<5" whether it was hidden for being small or to protect another:
telling the two apart would give the small one away. Percentages are only shown for shown cells
whose total is shown.
"""
from __future__ import annotations

import calendar
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date, timedelta

SUPPRESS_BELOW = 5
SUPPRESSED_TEXT = "<5"
PREFER_NOT_TO_SAY = "prefer_not_to_say"
#: the answer of a response that left the question out (not asked, or the person stopped)
NOT_ANSWERED = "not_answered"
NOT_ANSWERED_LABEL = "Not answered"
NOT_STATED = "Z"


@dataclass(frozen=True)
class Question:
    name: str
    label: str
    #: code -> label in plain words, in the order the bot asks and the report lists them
    answers: dict[str, str]


# NHS data dictionary ethnic category (2001 census categories): code -> (broad group, category).
BROAD_GROUPS: dict[str, str] = {
    "white": "White",
    "mixed": "Mixed or multiple",
    "asian": "Asian or Asian British",
    "black": "Black, Black British, Caribbean or African",
    "other": "Other ethnic group",
    "not_stated": "Not stated",
}
ETHNIC_CATEGORIES: dict[str, tuple[str, str]] = {
    "A": ("white", "White British"),
    "B": ("white", "White Irish"),
    "C": ("white", "Any other White background"),
    "D": ("mixed", "White and Black Caribbean"),
    "E": ("mixed", "White and Black African"),
    "F": ("mixed", "White and Asian"),
    "G": ("mixed", "Any other mixed background"),
    "H": ("asian", "Indian"),
    "J": ("asian", "Pakistani"),
    "K": ("asian", "Bangladeshi"),
    "L": ("asian", "Any other Asian background"),
    "M": ("black", "Caribbean"),
    "N": ("black", "African"),
    "P": ("black", "Any other Black background"),
    "R": ("other", "Chinese"),
    "S": ("other", "Any other ethnic group"),
    NOT_STATED: ("not_stated", "Not stated or prefer not to say"),
}

_PREFER = {PREFER_NOT_TO_SAY: "Prefer not to say"}
QUESTIONS: dict[str, Question] = {q.name: q for q in (
    Question("age_band", "Age band", {
        "16-24": "16 to 24", "25-34": "25 to 34", "35-44": "35 to 44", "45-54": "45 to 54",
        "55-64": "55 to 64", "65+": "65 or over", **_PREFER}),
    Question("sex", "Sex", {"female": "Female", "male": "Male", **_PREFER}),
    Question("ethnic_group", "Ethnic group", {code: label for code, (_, label) in ETHNIC_CATEGORIES.items()}),
    Question("disability", "Disability", {"yes": "Yes", "no": "No", **_PREFER}),
    Question("staff_group", "Staff group", {
        "doctor": "Doctor", "nurse_or_midwife": "Nurse or midwife", "healthcare_assistant": "Healthcare assistant",
        "pharmacist": "Pharmacist", "pharmacy_technician_or_assistant": "Pharmacy technician or assistant",
        "allied_health_professional": "Allied health professional", "admin_or_reception": "Admin or reception",
        "manager": "Manager", "other": "Other", **_PREFER}),
    Question("organisation_type", "Organisation type", {
        "gp_practice": "GP practice", "community_pharmacy": "Community pharmacy", "federation": "Federation",
        "other": "Other", **_PREFER}),
)}
ORGANISATION_TYPE = "organisation_type"


class InvalidAnswers(ValueError):
    """Answers that cannot be stored. `question` names the one at fault (None: the answers as a whole)."""

    def __init__(self, question: str | None, message: str) -> None:
        super().__init__(message)
        self.question = question


def accepted_codes(question: str) -> tuple[str, ...]:
    """The codes a question accepts (for ethnic_group, prefer_not_to_say too: stored as Z)."""
    codes = tuple(QUESTIONS[question].answers)
    return (*codes, PREFER_NOT_TO_SAY) if question == "ethnic_group" else codes


def normalise(answers: Mapping[str, object]) -> dict[str, str]:
    """The answers as stored: question -> code. A question left out (or None) was not answered.
    InvalidAnswers for an unknown question or code, naming the question, or for no answer at all."""
    stored: dict[str, str] = {}
    for question, code in answers.items():
        if question not in QUESTIONS:
            raise InvalidAnswers(question, f"There is no question called {question!r}. "
                                           f"The questions are {', '.join(QUESTIONS)}.")
        if code is None:
            continue
        if not isinstance(code, str) or code not in accepted_codes(question):
            raise InvalidAnswers(question, f"{code!r} is not an answer to {question}. "
                                           f"Choose one of {', '.join(accepted_codes(question))}.")
        stored[question] = NOT_STATED if (question == "ethnic_group" and code == PREFER_NOT_TO_SAY) else code
    if not stored:
        raise InvalidAnswers(None, "No answers were given, so nothing was recorded. "
                                   "Send at least one answer (prefer_not_to_say counts).")
    return stored


def answer_label(question: str, code: str) -> str:
    if code == NOT_ANSWERED:
        return NOT_ANSWERED_LABEL
    return QUESTIONS[question].answers.get(code, code)


def broad_group(code: str) -> str | None:
    """The broad ethnic group (its words) of an NHS ethnic category code."""
    found = ETHNIC_CATEGORIES.get(code)
    return BROAD_GROUPS[found[0]] if found else None


def default_period(today: date) -> tuple[date, date]:
    """The last 12 months up to and including `today`: from the day after the same date a year
    before (29 February: 1 March) to today."""
    if today.year == 1:
        return date.min, today
    year = today.year - 1
    day = min(today.day, calendar.monthrange(year, today.month)[1])
    return date(year, today.month, day) + timedelta(days=1), today


# --- suppression --------------------------------------------------------------------------------

Key = Hashable


@dataclass(frozen=True)
class Cell:
    """One count of a report.

    `groups`: the groups whose total this cell is a part of (the cells of a group add up to its
    total). `total_of`: the groups whose total this cell is. A group with no total cell has a total
    that is taken as shown (the caller shows it) unless it is below SUPPRESS_BELOW.
    After `suppress`: `count` None and `suppressed` True when hidden; `percent` of the first
    group's total when the cell and that total are both shown.
    """

    key: Key
    count: int | None
    groups: tuple[Key, ...] = ()
    total_of: tuple[Key, ...] = ()
    suppressed: bool = False
    percent: float | None = None

    @property
    def text(self) -> str:
        """The count as shown: the number, or "<5"."""
        return SUPPRESSED_TEXT if self.suppressed or self.count is None else str(self.count)


def group_cells(counts: Iterable[tuple[Key, int]], group: Key) -> list[Cell]:
    """Cells for one group: a part per (key, count), then their sum as the group's total, keyed
    (group, "total")."""
    parts = [Cell(key, count, groups=(group,)) for key, count in counts]
    return [*parts, Cell((group, "total"), sum(c.count or 0 for c in parts), total_of=(group,))]


def _exposed(parts: list[Cell], total: Cell | None, hidden: set[Key], zeros: set[Key]) -> bool:
    """Whether a count above zero hidden in this group can be worked out from the cells shown: when
    it is the group's only unknown. Hidden cells known to be zero (`zeros`) are not unknowns: they
    can be worked out from another group, and a zero worked out names nobody."""
    unknown = [c for c in [*parts, *([total] if total is not None else [])]
               if c.key in hidden and c.key not in zeros]
    return len(unknown) == 1 and (unknown[0].count or 0) > 0


def _zeros_worked_out(parts: dict[Key, list[Cell]], totals: dict[Key, Cell], hidden: set[Key],
                      counts: dict[Key, int]) -> set[Key]:
    """The hidden cells whose count (zero) follows from the cells shown, by subtraction repeated
    across groups: a group's only unknown is its total less the rest; unknowns that add up to
    nothing are each zero."""
    known = {key for key in counts if key not in hidden}
    changed = True
    while changed:
        changed = False
        for group, members in parts.items():
            total = totals.get(group)
            if total is None and sum(counts[c.key] for c in members) < SUPPRESS_BELOW:
                continue  # a group without a total cell shows its total only from 5
            unknown = [c.key for c in members if c.key not in known]
            if total is not None and total.key not in known:
                if not unknown:
                    known.add(total.key)
                    changed = True
                continue
            if unknown and (len(unknown) == 1 or not sum(counts[k] for k in unknown)):
                known.update(unknown)
                changed = True
    return {key for key in hidden & known if not counts[key]}


def suppress(cells: Iterable[Cell]) -> list[Cell]:
    """The cells with small counts hidden (primary) and the cells that would give them away hidden
    too (secondary), in the order given. Raises ValueError for a repeated key or a negative count."""
    cells = list(cells)
    by_key: dict[Key, Cell] = {}
    for cell in cells:
        if cell.key in by_key:
            raise ValueError(f"two cells share the key {cell.key!r}")
        if cell.count is None or cell.count < 0:
            raise ValueError(f"cell {cell.key!r} has no count to suppress")
        by_key[cell.key] = cell
    parts: dict[Key, list[Cell]] = {}
    totals: dict[Key, Cell] = {}
    for cell in cells:
        for group in cell.groups:
            parts.setdefault(group, []).append(cell)
        for group in cell.total_of:
            if group in totals:
                raise ValueError(f"group {group!r} has two totals")
            totals[group] = cell

    counts = {key: cell.count or 0 for key, cell in by_key.items()}
    hidden = {key for key, count in counts.items() if count < SUPPRESS_BELOW}
    changed = True
    while changed:  # each pass hides at least one more cell or stops: it ends
        changed = False
        zeros = _zeros_worked_out(parts, totals, hidden, counts)
        for group, members in parts.items():
            total = totals.get(group)
            if not _exposed(members, total, hidden, zeros):
                continue
            shown = [c for c in members if c.key not in hidden]
            if shown:
                hidden.add(min(shown, key=lambda c: counts[c.key]).key)  # the first of equals
            elif total is not None:  # a group of one hidden cell: its total is the cell
                hidden.add(total.key)
            else:
                continue
            changed = True

    def percent(cell: Cell) -> float | None:
        if cell.key in hidden or not cell.groups:
            return None
        group = cell.groups[0]
        total = totals.get(group)
        if total is not None:
            if total.key in hidden or not counts[total.key]:
                return None
            whole = counts[total.key]
        else:
            whole = sum(counts[c.key] for c in parts[group])
            if whole < SUPPRESS_BELOW:
                return None
        return round(100 * counts[cell.key] / whole, 1)

    return [replace(cell, count=None, suppressed=True, percent=None) if cell.key in hidden
            else replace(cell, suppressed=False, percent=percent(cell)) for cell in cells]

