"""Equality of access (issue #18): the optional answers stored apart from any case, and the report
with small counts suppressed (api/domain/equality.py has the questions, the codes and the rules).

A response is one EqualityResponse row: the London date, the line and the channel, and a code per
answered question. Nothing that could join it back to a person: no case, conversation, number,
name or time of day.

The report, for a period of days (`start` to `end`, both included):
- the responses answered in it; per question, the count of each answer (every code listed, and
  "not answered"), overall and by organisation type (the answer to `organisation_type`);
- uptake by organisation type: the cases opened in the period (London days) by the type of their
  organisation (the one a practitioner confirmed, else the one the case was opened with; "no
  organisation" when neither), beside the responses' own organisation type.
Every count goes through `suppress`. The database does the counting (GROUP BY).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.domain import equality as eq
from api.domain.equality import NOT_ANSWERED, ORGANISATION_TYPE, QUESTIONS, Cell
from api.enums import OrganisationType
from api.models import Case, EqualityResponse, Organisation
from api.services import reports
from api.services.reports import Table

NO_ORGANISATION = "no_organisation"
NO_ORGANISATION_LABEL = "No organisation on the case"
#: the organisation types a case's organisation can have (api.enums.OrganisationType)
CASE_ORGANISATION_TYPES = tuple(t.value for t in OrganisationType)
CSV_COLUMNS = ["from", "to", "table", "organisation_type", "question", "answer", "label", "count", "percent"]


# --- recording ----------------------------------------------------------------------------------

def record(session: Session, *, line: str, channel: str, answers: dict[str, Any], today: date) -> EqualityResponse:
    """Store one conversation's answers (eq.InvalidAnswers naming the question at fault, or for no
    answer at all). `today` is the London date; nothing else about when or who is kept."""
    stored = eq.normalise(answers)
    row = EqualityResponse(answered_on=today, line=line, channel=channel, **stored)
    session.add(row)
    session.flush()
    return row


# --- the report -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Figure:
    """One count as the report shows it: `count` None when suppressed; `percent` of its total
    (None when either is suppressed)."""

    count: int | None
    suppressed: bool
    percent: float | None = None

    @property
    def text(self) -> str:
        """The number, or "<5"."""
        return eq.SUPPRESSED_TEXT if self.suppressed or self.count is None else str(self.count)

    def to_dict(self) -> dict[str, Any]:
        return {"count": self.count, "suppressed": self.suppressed, "percent": self.percent}

    @classmethod
    def of(cls, cell: Cell) -> Figure:
        return cls(count=cell.count, suppressed=cell.suppressed, percent=cell.percent)


@dataclass(frozen=True)
class AnswerFigures:
    """One answer to a question: its count over all responses (`overall`, percent of the
    responses) and per organisation type (percent of that type's responses; empty for the
    organisation_type question itself). `broad_group` only for ethnic_group."""

    answer: str
    label: str
    overall: Figure
    by_organisation_type: dict[str, Figure]
    broad_group: str | None = None


@dataclass(frozen=True)
class QuestionFigures:
    question: str
    label: str
    answers: list[AnswerFigures]


@dataclass(frozen=True)
class UptakeRow:
    """One organisation type: cases opened (None for "prefer not to say": a case has no such type)
    beside the responses that gave this type."""

    organisation_type: str
    label: str
    cases: Figure | None
    responses: Figure | None


@dataclass(frozen=True)
class EqualityReport:
    """The equality-of-access report for the days `start` to `end` (both included), every count
    suppressed below eq.SUPPRESS_BELOW.

    - responses: the equality responses answered in the period;
    - questions: per question (eq.QUESTIONS order), every answer (and "not answered") with its
      count overall and per organisation type;
    - organisation_types: the columns of the breakdown, (code, label), "not answered" last;
    - cases: the cases opened in the period; uptake: per organisation type, cases and responses.
    A Figure's `text` is what to print ("<5" when suppressed).
    """

    start: date
    end: date
    responses: Figure
    questions: list[QuestionFigures]
    organisation_types: list[tuple[str, str]]
    cases: Figure
    uptake: list[UptakeRow]
    suppress_below: int = eq.SUPPRESS_BELOW

    def question(self, name: str) -> QuestionFigures:
        return next(q for q in self.questions if q.question == name)

    def responses_of(self, organisation_type: str) -> Figure:
        """The responses that gave this organisation type (or did not answer: NOT_ANSWERED)."""
        return next(a.overall for a in self.question(ORGANISATION_TYPE).answers if a.answer == organisation_type)

    def to_dict(self) -> dict[str, Any]:
        def answers(q: QuestionFigures, pick) -> list[dict[str, Any]]:
            out = []
            for a in q.answers:
                item = {"answer": a.answer, "label": a.label, **pick(a).to_dict()}
                if a.broad_group is not None:
                    item["broad_group"] = a.broad_group
                out.append(item)
            return out

        by_type = [{"organisation_type": code, "label": label, "responses": self.responses_of(code).to_dict(),
                    "questions": [{"question": q.question, "label": q.label,
                                   "answers": answers(q, lambda a, c=code: a.by_organisation_type[c])}
                                  for q in self.questions if q.question != ORGANISATION_TYPE]}
                   for code, label in self.organisation_types]
        return {
            "from": self.start.isoformat(), "to": self.end.isoformat(), "suppress_below": self.suppress_below,
            "responses": self.responses.to_dict(),
            "questions": [{"question": q.question, "label": q.label, "answers": answers(q, lambda a: a.overall)}
                          for q in self.questions],
            "by_organisation_type": by_type,
            "uptake": {"cases": self.cases.to_dict(), "responses": self.responses.to_dict(),
                       "by_organisation_type": [
                           {"organisation_type": u.organisation_type, "label": u.label,
                            "cases": u.cases.to_dict() if u.cases else None,
                            "responses": u.responses.to_dict() if u.responses else None} for u in self.uptake]},
        }


def _answer_codes(question: str, seen: set[str]) -> list[str]:
    """Every code of the question in order, any other value stored (an older code) after them,
    then "not answered"."""
    codes = list(QUESTIONS[question].answers)
    return [*codes, *sorted(seen - set(codes) - {NOT_ANSWERED}), NOT_ANSWERED]


def _response_counts(session: Session, start: date, end: date) -> dict[str, dict[tuple[str, str], int]]:
    """question -> (organisation type, answer) -> responses; None read as NOT_ANSWERED. One
    GROUP BY per question."""
    in_period = (EqualityResponse.answered_on >= start, EqualityResponse.answered_on <= end)
    org_type = EqualityResponse.organisation_type
    out: dict[str, dict[tuple[str, str], int]] = {}
    for question in QUESTIONS:
        answer = getattr(EqualityResponse, question)
        rows = session.execute(select(org_type, answer, func.count()).where(*in_period).group_by(org_type, answer))
        out[question] = {(t or NOT_ANSWERED, a or NOT_ANSWERED): int(n) for t, a, n in rows}
    return out


def _local_midnight(day: date, zone: ZoneInfo, *, days: int = 0) -> datetime | None:
    """The UTC moment the local day (moved on by `days`) starts; None beyond the calendar's ends,
    where the bound excludes nothing."""
    try:
        return datetime.combine(day + timedelta(days=days), time(0), tzinfo=zone).astimezone(timezone.utc)
    except OverflowError:
        return None


def _case_counts(session: Session, start: date, end: date, zone: ZoneInfo) -> dict[str, int]:
    """Cases opened on the London days start..end by their organisation's type (NO_ORGANISATION:
    none); a type outside CASE_ORGANISATION_TYPES counted as other."""
    org_id = func.coalesce(Case.confirmed_organisation_id, Case.organisation_id)
    first, after = _local_midnight(start, zone), _local_midnight(end, zone, days=1)
    where = [*([Case.created_at >= first] if first else []), *([Case.created_at < after] if after else [])]
    query = (select(Organisation.type, func.count(Case.id)).select_from(Case)
             .outerjoin(Organisation, Organisation.id == org_id).where(*where).group_by(Organisation.type))
    counts = dict.fromkeys((*CASE_ORGANISATION_TYPES, NO_ORGANISATION), 0)
    for kind, n in session.execute(query):
        key = NO_ORGANISATION if kind is None else kind if kind in counts else OrganisationType.other.value
        counts[key] += int(n)
    return counts


def _cells(responses: dict[str, dict[tuple[str, str], int]], cases: dict[str, int]) -> list[Cell]:
    """The report's counts as cells with their groups (see api/domain/equality.py):
    - ("question", "all", q): the answers to q add up to the responses;
    - ("question", t, q): the answers to q of type t add up to the responses of type t (the
      overall organisation_type cell for t);
    - ("row", q, a): answer a to q per type adds up to its overall count;
    - ("cases",): cases per organisation type add up to the cases."""
    type_seen = {t for counts in responses.values() for t, _ in counts}
    types = _answer_codes(ORGANISATION_TYPE, type_seen)
    others = [q for q in QUESTIONS if q != ORGANISATION_TYPE]
    total = sum(responses[ORGANISATION_TYPE].values())
    cells = [Cell(("responses",), total, total_of=tuple(("question", "all", q) for q in QUESTIONS))]
    for q in QUESTIONS:
        per_answer: dict[str, int] = {}
        for (_, a), n in responses[q].items():
            per_answer[a] = per_answer.get(a, 0) + n
        for a in _answer_codes(q, set(per_answer)):
            if q == ORGANISATION_TYPE:
                cells.append(Cell(("answer", "all", q, a), per_answer.get(a, 0), groups=(("question", "all", q),),
                                  total_of=tuple(("question", a, other) for other in others)))
            else:
                cells.append(Cell(("answer", "all", q, a), per_answer.get(a, 0), groups=(("question", "all", q),),
                                  total_of=(("row", q, a),)))
                cells.extend(Cell(("answer", t, q, a), responses[q].get((t, a), 0),
                                  groups=(("question", t, q), ("row", q, a))) for t in types)
    cells.append(Cell(("cases",), sum(cases.values()), total_of=(("cases",),)))
    cells.extend(Cell(("cases", t), n, groups=(("cases",),)) for t, n in cases.items())
    return cells


def report(session: Session, *, start: date, end: date, tz: str = "Europe/London") -> EqualityReport:
    """The equality-of-access report for the days start..end, both included (ValueError when
    start is after end). Cases are counted by the day they were opened in `tz`."""
    if start > end:
        raise ValueError("the start of the period is after its end")
    responses = _response_counts(session, start, end)
    cases = _case_counts(session, start, end, ZoneInfo(tz))
    cells = {c.key: c for c in eq.suppress(_cells(responses, cases))}
    types = [k[3] for k in cells if k[:3] == ("answer", "all", ORGANISATION_TYPE)]
    questions = []
    for q in QUESTIONS:
        codes = [k[3] for k in cells if k[:3] == ("answer", "all", q)]
        questions.append(QuestionFigures(q, QUESTIONS[q].label, [
            AnswerFigures(answer=a, label=eq.answer_label(q, a), overall=Figure.of(cells[("answer", "all", q, a)]),
                          by_organisation_type={} if q == ORGANISATION_TYPE else
                          {t: Figure.of(cells[("answer", t, q, a)]) for t in types},
                          broad_group=eq.broad_group(a) if q == "ethnic_group" else None)
            for a in codes]))
    uptake = [UptakeRow(t, eq.answer_label(ORGANISATION_TYPE, t),
                        cases=Figure.of(cells[("cases", t)]) if ("cases", t) in cells else None,
                        responses=Figure.of(cells[("answer", "all", ORGANISATION_TYPE, t)]))
              for t in types if t != NOT_ANSWERED]
    uptake.append(UptakeRow(NOT_ANSWERED, "No organisation on the case, or not answered",
                            cases=Figure.of(cells[("cases", NO_ORGANISATION)]),
                            responses=Figure.of(cells[("answer", "all", ORGANISATION_TYPE, NOT_ANSWERED)])))
    return EqualityReport(start=start, end=end, responses=Figure.of(cells[("responses",)]), questions=questions,
                          organisation_types=[(t, eq.answer_label(ORGANISATION_TYPE, t)) for t in types],
                          cases=Figure.of(cells[("cases",)]), uptake=uptake)


def csv_table(result: EqualityReport) -> Table:
    """Every figure of the report, one a row; a suppressed count is "<5" (never the number)."""
    period = [result.start.isoformat(), result.end.isoformat()]

    def row(table: str, org_type: str, question: str, answer: str, label: str, figure: Figure) -> list[Any]:
        return [*period, table, org_type, question, answer, label, figure.text,
                "" if figure.percent is None else figure.percent]

    rows = [row("responses", "all", "", "", "Responses", result.responses)]
    for q in result.questions:
        rows.extend(row("answers", "all", q.question, a.answer, a.label, a.overall) for a in q.answers)
    for code, _ in result.organisation_types:
        for q in result.questions:
            rows.extend(row("answers", code, q.question, a.answer, a.label, a.by_organisation_type[code])
                        for a in q.answers if code in a.by_organisation_type)
    rows.append(row("cases", "all", "", "", "Cases opened", result.cases))
    rows.extend(row("cases", u.organisation_type, "", "", u.label, u.cases) for u in result.uptake if u.cases)
    return Table("equality", "Equality of access", CSV_COLUMNS, rows)


def to_csv(result: EqualityReport) -> str:
    return reports.to_csv(csv_table(result))
