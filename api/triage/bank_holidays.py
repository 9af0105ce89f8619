"""Bank holidays: one list (calendars/<name>.yaml, from GOV.UK) for every "working day".

The manager line's working hours (a rule file's `working_hours.bank_holidays: england-and-wales`)
and the dashboard's routine clock (api/services/queue.py) both read it through
`load_bank_holidays()`, so they cannot disagree.

Pure apart from reading the data file and one log line: no clock (callers pass dates), no web
or database. A date in a year the file does not list is counted as an ordinary day (so a weekday
is a working day) and a warning is logged once per year: clocks then fall due early, and a
held page goes out on an unlisted bank holiday rather than waiting past it. That is the safe
side; the warning is the prompt to add the year (README: "Bank holidays").
"""
from __future__ import annotations

import functools
import logging
import re
import threading
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

import yaml

CALENDARS_DIR = Path(__file__).resolve().parent / "calendars"
DEFAULT_CALENDAR = "england-and-wales"
# England and Wales always has at least these 8 (New Year, Good Friday, Easter Monday, early
# May, spring, summer, Christmas, Boxing Day, with substitutes); fewer means a half-entered year.
MIN_PER_YEAR = 8
_NAME = re.compile(r"^[a-z][a-z0-9-]*$")

log = logging.getLogger(__name__)


class BankHolidayError(ValueError):
    """A calendar file is malformed or missing; the message names the file and the entry."""


@dataclass(frozen=True, eq=False)  # identity equality: hashable, one instance per loaded file
class BankHolidays:
    name: str
    source: str
    retrieved: date
    holidays: Mapping[date, str] = field(repr=False)  # date -> GOV.UK's name for it
    years: tuple[int, ...]  # consecutive years the list is complete for, oldest first
    _warned: set[int] = field(default_factory=set, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def first_year(self) -> int:
        return self.years[0]

    @property
    def last_year(self) -> int:
        return self.years[-1]

    def covers(self, day: date) -> bool:
        return self.first_year <= day.year <= self.last_year

    def is_bank_holiday(self, day: date) -> bool:
        """True for a listed bank holiday. A day outside the years listed is never one (the
        list has run out, or not begun): a warning is logged, once per year."""
        if not self.covers(day):
            self._warn_uncovered(day.year)
            return False
        return day in self.holidays

    def _warn_uncovered(self, year: int) -> None:
        with self._lock:
            if year in self._warned:
                return
            self._warned.add(year)
        log.warning(
            "bank holidays for %s are listed for %d-%d only; days in %d are counted as weekdays with no "
            "bank holidays: add %d from %s to %s",
            self.name, self.first_year, self.last_year, year, year, self.source,
            f"api/triage/calendars/{self.name}.yaml",
        )


def calendar_path(name: str) -> Path:
    return CALENDARS_DIR / f"{name}.yaml"


def _as_date(value: Any, where: str) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise BankHolidayError(f"{where}: {value!r} is not a YYYY-MM-DD date") from None


def parse_bank_holidays(data: Any, where: str) -> BankHolidays:
    """Build and check a calendar from its YAML; BankHolidayError says exactly what is wrong."""
    if not isinstance(data, Mapping):
        raise BankHolidayError(f"{where}: expected a mapping with name, source, retrieved, years")
    unknown = set(data) - {"name", "source", "retrieved", "years"}
    if unknown:
        raise BankHolidayError(f"{where}: unknown keys {sorted(unknown)}")
    name, source = data.get("name"), data.get("source")
    if not isinstance(name, str) or not _NAME.match(name):
        raise BankHolidayError(f"{where}: 'name' must be lower-case-with-hyphens, got {name!r}")
    if not isinstance(source, str) or not source.strip():
        raise BankHolidayError(f"{where}: 'source' must say where the list comes from (a URL)")
    retrieved = _as_date(data.get("retrieved"), f"{where}: retrieved")
    years_raw = data.get("years")
    if not isinstance(years_raw, Mapping) or not years_raw:
        raise BankHolidayError(f"{where}: 'years' must map each year to its list of bank holidays")
    holidays: dict[date, str] = {}
    years = []
    for year, entries in years_raw.items():
        if isinstance(year, bool) or not isinstance(year, int):
            raise BankHolidayError(f"{where}: year {year!r} must be a number such as 2027")
        at = f"{where}: {year}"
        if not isinstance(entries, list) or len(entries) < MIN_PER_YEAR:
            raise BankHolidayError(f"{at}: expected a list of at least {MIN_PER_YEAR} bank holidays "
                                   f"(England and Wales always has {MIN_PER_YEAR}); is the year complete?")
        for entry in entries:
            if not isinstance(entry, Mapping) or set(entry) != {"date", "name"}:
                raise BankHolidayError(f"{at}: each entry must be {{date: YYYY-MM-DD, name: ...}}, got {entry!r}")
            day = _as_date(entry["date"], at)
            label = entry["name"]
            if not isinstance(label, str) or not label.strip():
                raise BankHolidayError(f"{at}: {day} needs a name")
            if day.year != year:
                raise BankHolidayError(f"{at}: {day} is not in {year}")
            if day.weekday() >= 5:
                raise BankHolidayError(f"{at}: {day} ({label}) is a {day:%A}; a bank holiday at a weekend "
                                       "moves to a weekday (the substitute day): list that instead")
            if day in holidays:
                raise BankHolidayError(f"{at}: {day} is listed twice")
            holidays[day] = label.strip()
        years.append(year)
    years.sort()
    if years != list(range(years[0], years[-1] + 1)):
        raise BankHolidayError(f"{where}: years must follow on with none missing, got {years}")
    return BankHolidays(name=name, source=source.strip(), retrieved=retrieved,
                        holidays=MappingProxyType(dict(sorted(holidays.items()))), years=tuple(years))


def read_bank_holidays(path: str | Path) -> BankHolidays:
    """Read one calendar file (uncached: a fresh instance each call)."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise BankHolidayError(f"{path.name}: cannot be read: {exc}") from None
    except yaml.YAMLError as exc:
        raise BankHolidayError(f"{path.name}: not valid YAML: {exc}") from None
    calendar = parse_bank_holidays(data, path.name)
    if calendar.name != path.stem:
        raise BankHolidayError(f"{path.name}: name {calendar.name!r} must equal the file name stem {path.stem!r}")
    return calendar


def available_calendars() -> tuple[str, ...]:
    return tuple(sorted(p.stem for p in CALENDARS_DIR.glob("*.yaml")))


def load_bank_holidays(name: str = DEFAULT_CALENDAR) -> BankHolidays:
    """The named calendar from calendars/, read once per process: every caller asking for the
    same name gets the same instance (so one warning per year, whoever asks)."""
    # The pattern also keeps a name from a rule file from pointing at a path elsewhere.
    if not isinstance(name, str) or not _NAME.match(name) or not calendar_path(name).is_file():
        raise BankHolidayError(f"unknown bank holiday calendar {name!r}; available: {available_calendars()}")
    return _load_cached(name)


@functools.lru_cache(maxsize=8)
def _load_cached(name: str) -> BankHolidays:
    # Keyed on the name alone: load_bank_holidays() and load_bank_holidays("england-and-wales")
    # must not be two cache entries.
    return read_bank_holidays(calendar_path(name))
