"""Days off for every "working day": the bank holidays of England and Wales, and the days the OH
service itself closes.

- Bank holidays come from the `holidays` package (`holidays.country_holidays("GB", subdiv="ENG")`;
  Wales has the same bank holidays as England). New and one-off bank holidays (a state funeral, a
  coronation) arrive with each release of the package: nobody copies dates by hand. Only the
  weekday a bank holiday is taken on counts, as GOV.UK lists it: Boxing Day on a Saturday is
  not listed, its substitute Monday is.
- Service closures are the only local list: `calendars/service-closures.yaml`, days the OH
  team closes although they are not bank holidays (empty unless OH adds one).

The manager line's working hours (a rule file's `working_hours.bank_holidays: england-and-wales`)
and the dashboard's routine clock (api/services/queue.py) both read the calendar through
`load_bank_holidays()`, so they cannot disagree.

The `holidays` package is imported when a calendar is first asked about, not with this module:
api.triage is also imported by the bot (bot/components/crisis_guard.py, on Python 3.10 with
the bot's packages, which do not include `holidays`).

Pure apart from the package, reading the closures file and one log line: no clock (callers
pass dates), no web or database. Each year is worked out once per calendar and cached. A year
the package does not cover (before 1872 or after 2100) counts as having no days off (so a
weekday is a working day: clocks fall due early, a held page goes out rather than waiting)
and a warning is logged once per year.
"""
from __future__ import annotations

import functools
import logging
import re
import threading
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from types import MappingProxyType, ModuleType
from typing import Any, Mapping

import yaml

CALENDARS_DIR = Path(__file__).resolve().parent / "calendars"
CLOSURES_PATH = CALENDARS_DIR / "service-closures.yaml"
DEFAULT_CALENDAR = "england-and-wales"
# The names a rule file may give (`working_hours.bank_holidays: <name>`), and the country and
# subdivision of the holidays package behind each.
CALENDARS: Mapping[str, tuple[str, str]] = MappingProxyType({"england-and-wales": ("GB", "ENG")})
_NAME = re.compile(r"^[a-z][a-z0-9-]*$")

log = logging.getLogger(__name__)


class BankHolidayError(ValueError):
    """An unknown calendar, or a malformed service closures file; the message says which entry."""


@dataclass(frozen=True, eq=False)  # identity equality: hashable, one instance per loaded calendar
class BankHolidays:
    name: str
    country: str
    subdiv: str
    closures: Mapping[date, str] = field(default_factory=lambda: MappingProxyType({}), repr=False)
    _years: dict[int, Mapping[date, str]] = field(default_factory=dict, repr=False)
    _warned: set[int] = field(default_factory=set, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def source(self) -> str:
        return f"holidays {_package().__version__} ({self.country}, subdivision {self.subdiv})"

    @property
    def first_year(self) -> int:
        return _package_years(self.country)[0]

    @property
    def last_year(self) -> int:
        return _package_years(self.country)[1]

    def covers(self, day: date) -> bool:
        return self.first_year <= day.year <= self.last_year

    def holidays_in(self, year: int) -> Mapping[date, str]:
        """Every day off in `year` (bank holidays and service closures), date -> name, in date
        order; worked out once per year."""
        with self._lock:
            cached = self._years.get(year)
        if cached is not None:
            return cached
        days: dict[date, str] = {}
        if self.first_year <= year <= self.last_year:
            package = _package().country_holidays(self.country, subdiv=self.subdiv, years=year)
            # Only weekdays: a bank holiday at a weekend is taken on its substitute day, which the
            # package lists too ("Boxing Day (observed)").
            days.update((day, label) for day, label in package.items() if day.weekday() < 5)
        else:
            self._warn_uncovered(year)
        for day, label in self.closures.items():
            if day.year == year:
                days.setdefault(day, label)
        result: Mapping[date, str] = MappingProxyType(dict(sorted(days.items())))
        with self._lock:
            return self._years.setdefault(year, result)

    def is_bank_holiday(self, day: date) -> bool:
        """True for a bank holiday (on the weekday it is taken) or a service closure: not a
        working day."""
        return day in self.holidays_in(day.year)

    def name_of(self, day: date) -> str | None:
        return self.holidays_in(day.year).get(day)

    def _warn_uncovered(self, year: int) -> None:
        with self._lock:
            if year in self._warned:
                return
            self._warned.add(year)
        log.warning(
            "bank holidays for %s are known for %d-%d only (%s); days in %d are counted as weekdays "
            "with no bank holidays",
            self.name, self.first_year, self.last_year, self.source, year,
        )


def _package() -> ModuleType:
    import holidays  # here, not at the top: see the module docstring

    return holidays


@functools.lru_cache(maxsize=8)
def _package_years(country: str) -> tuple[int, int]:
    cls = type(_package().country_holidays(country))
    return int(getattr(cls, "start_year", 1)), int(getattr(cls, "end_year", 9999))


def _as_date(value: Any, where: str) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise BankHolidayError(f"{where}: {value!r} is not a YYYY-MM-DD date") from None


def parse_service_closures(data: Any, where: str) -> Mapping[date, str]:
    """The closures file's YAML (`closures: [{date: YYYY-MM-DD, name: ...}, ...]`) as date -> name;
    BankHolidayError says exactly what is wrong."""
    if data is None:
        return MappingProxyType({})
    if not isinstance(data, Mapping) or set(data) - {"closures"}:
        raise BankHolidayError(f"{where}: expected a mapping with one key, 'closures'")
    entries = data.get("closures") or []
    if not isinstance(entries, list):
        raise BankHolidayError(f"{where}: 'closures' must be a list of {{date: YYYY-MM-DD, name: ...}}")
    closures: dict[date, str] = {}
    for entry in entries:
        if not isinstance(entry, Mapping) or set(entry) != {"date", "name"}:
            raise BankHolidayError(f"{where}: each closure must be {{date: YYYY-MM-DD, name: ...}}, got {entry!r}")
        day = _as_date(entry["date"], where)
        label = entry["name"]
        if not isinstance(label, str) or not label.strip():
            raise BankHolidayError(f"{where}: {day} needs a name (why the service is closed)")
        if day.weekday() >= 5:
            raise BankHolidayError(f"{where}: {day} ({label}) is a {day:%A}, never a working day anyway")
        if day in closures:
            raise BankHolidayError(f"{where}: {day} is listed twice")
        closures[day] = label.strip()
    return MappingProxyType(dict(sorted(closures.items())))


def read_service_closures(path: str | Path = CLOSURES_PATH) -> Mapping[date, str]:
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise BankHolidayError(f"{path.name}: cannot be read: {exc}") from None
    except (yaml.YAMLError, ValueError) as exc:  # PyYAML raises ValueError for a date such as 2027-13-01
        raise BankHolidayError(f"{path.name}: not valid YAML: {exc}") from None
    return parse_service_closures(data, path.name)


def available_calendars() -> tuple[str, ...]:
    return tuple(sorted(CALENDARS))


def _check_name(name: Any) -> str:
    if not isinstance(name, str) or not _NAME.match(name) or name not in CALENDARS:
        raise BankHolidayError(f"unknown bank holiday calendar {name!r}; available: {available_calendars()}")
    return name


def make_bank_holidays(name: str = DEFAULT_CALENDAR, closures_path: str | Path = CLOSURES_PATH) -> BankHolidays:
    """A new calendar (uncached: its own year cache and warn-once state)."""
    country, subdiv = CALENDARS[_check_name(name)]
    return BankHolidays(name=name, country=country, subdiv=subdiv, closures=read_service_closures(closures_path))


def load_bank_holidays(name: str = DEFAULT_CALENDAR) -> BankHolidays:
    """The named calendar, built once per process: every caller asking for the same name gets
    the same instance (so one year cache and one warning per year, whoever asks)."""
    return _load_cached(_check_name(name))


@functools.lru_cache(maxsize=8)
def _load_cached(name: str) -> BankHolidays:
    # Keyed on the name alone: load_bank_holidays() and load_bank_holidays("england-and-wales")
    # must not be two cache entries.
    return make_bank_holidays(name)
