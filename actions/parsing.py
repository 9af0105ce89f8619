"""Pure parsers for free-text answers (no tracker, no I/O, no clock: `now` is passed in).

    parse_when("yesterday evening", now=now)        -> datetime (tz-aware) | None
    parse_phone("call me on 07700 900123")          -> "+447700900123" | None
    parse_choice("2", ["Sharps", "Manager"])        -> "Manager" | None
    parse_yes_no_unknown("no idea")                 -> "yes" | "no" | "unknown" | None
    is_dont_know("dunno")                           -> True
    normalise("Don’t KNOW!!")                       -> "dont know"

British conventions: dates are day-first (14/11 = 14 November), phone numbers
default to GB. Exposure times are in the past by definition, so a time that
would be in the future is read as yesterday, and a result after `now` is None.
"""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from typing import Literal, Optional, Sequence, Tuple
from zoneinfo import ZoneInfo

YesNoUnknown = Literal["yes", "no", "unknown"]

_APOSTROPHES = re.compile(r"['\u2018\u2019`\u02bc]")
_NON_ALNUM = re.compile(r"[^a-z0-9]+")


def normalise(text: Optional[str]) -> str:
    """Lower-case, drop apostrophes, other punctuation to spaces, squeeze spaces.

    The same rule as the crisis lexicon, so "Don’t know!!" -> "dont know".
    """
    lowered = _APOSTROPHES.sub("", (text or "").lower())
    return _NON_ALNUM.sub(" ", lowered).strip()


def _has_phrase(norm_text: str, phrases: Sequence[str]) -> bool:
    padded = f" {norm_text} "
    return any(f" {p} " in padded for p in phrases)


# --------------------------------------------------------------------------- don't know / yes / no

_DONT_KNOW = (
    "dunno", "dno", "idk", "dk", "dont know", "do not know", "dont no", "not sure",
    "unsure", "no idea", "no clue", "not a clue", "havent a clue", "cant remember",
    "cannot remember", "cant recall", "dont remember", "not certain", "unknown",
    "not known", "cant say", "couldnt say", "couldnt tell you", "no one knows",
    "nobody knows", "i forget", "forgotten", "hard to say", "not sure tbh",
)
_NO_PHRASES = (
    "dont think so", "do not think so", "not really", "i dont", "i didnt", "i havent",
    "it wasnt", "it isnt", "they arent", "they werent", "he isnt", "she isnt", "not at all",
    "not yet", "no way",
)
_YES_WORDS = {
    "yes", "y", "yeah", "yea", "yeh", "yep", "yup", "ya", "yas", "aye", "ok", "okay", "k",
    "sure", "correct", "right", "definitely", "absolutely", "affirmative", "true", "done",
}
_NO_WORDS = {"no", "n", "nope", "nah", "nay", "not", "never", "none", "negative", "false", "neither"}


def is_dont_know(text: Optional[str]) -> bool:
    """True when the answer is a form of "I don't know" (a valid answer on every question)."""
    norm = normalise(text)
    return bool(norm) and _has_phrase(norm, _DONT_KNOW)


def parse_yes_no_unknown(text: Optional[str]) -> Optional[YesNoUnknown]:
    """Read a yes/no question's answer: "yes", "no", "unknown" (don't know), or None if unclear.

    "Don't know" is checked first because "no idea" and "not sure" contain "no"/"not".
    A reply with both yes and no words ("yes and no") is unclear: None.
    """
    norm = normalise(text)
    if not norm:
        return None
    if is_dont_know(norm):
        return "unknown"
    if _has_phrase(norm, _NO_PHRASES):
        return "no"
    words = set(norm.split())
    yes, no = bool(words & _YES_WORDS), bool(words & _NO_WORDS)
    if yes != no:
        return "yes" if yes else "no"
    return None


# --------------------------------------------------------------------------- choices

_ORDINALS = {
    "first": 1, "1st": 1, "one": 1, "second": 2, "2nd": 2, "two": 2, "third": 3, "3rd": 3,
    "three": 3, "fourth": 4, "4th": 4, "four": 4, "fifth": 5, "5th": 5, "five": 5,
    "sixth": 6, "6th": 6, "six": 6, "last": -1,
}
_CHOICE_NUMBER = re.compile(
    r"^(?:(?:option|number|no|choice|answer)\s+)?#?(\d{1,2})$"
)
_CHOICE_FILLER = re.compile(r"\b(?:the|its|it is|one|option|please|i want|id like|i choose|pick)\b")
_CHOICE_WORD = re.compile(
    r"^(?:(?:the|its|it is|option|number|choice)\s+)*(\w+)(?:\s+(?:one|option))?(?:\s+please)?$"
)


def parse_choice(text: Optional[str], options: Sequence[str]) -> Optional[str]:
    """Pick one of `options` from a reply: "2", "2.", "option 2", "the second one", or the option's words.

    Returns the option string itself, or None when the reply matches no option
    or more than one.
    """
    norm = normalise(text)
    if not norm or not options:
        return None
    index = _choice_index(norm)
    if index is not None:
        if index == -1:
            return options[-1]
        return options[index - 1] if 1 <= index <= len(options) else None
    normalised = [normalise(o) for o in options]
    exact = [o for o, n in zip(options, normalised, strict=True) if n == norm]
    if exact:
        return exact[0]
    core = " ".join(_CHOICE_FILLER.sub(" ", norm).split()) or norm  # "the manager one" -> "manager"
    # The reply is part of one option ("manager" -> "Manager question") ...
    inside = [o for o, n in zip(options, normalised, strict=True) if n and f" {core} " in f" {n} "]
    if len(inside) == 1:
        return inside[0]
    # ... or one option is part of the reply ("its the manager question please").
    contains = [o for o, n in zip(options, normalised, strict=True) if n and f" {n} " in f" {norm} "]
    if len(contains) == 1:
        return contains[0]
    return None


def _choice_index(norm: str) -> Optional[int]:
    match = _CHOICE_NUMBER.match(norm)
    if match:
        return int(match.group(1))
    match = _CHOICE_WORD.match(norm)
    if match and match.group(1) in _ORDINALS:
        return _ORDINALS[match.group(1)]
    return None


# --------------------------------------------------------------------------- phone numbers

def parse_phone(text: Optional[str], region: str = "GB") -> Optional[str]:
    """First valid phone number in `text`, in E.164 ("+447700900123"); None if there is none."""
    import phonenumbers  # local import: keeps module import cheap for the action server

    for match in phonenumbers.PhoneNumberMatcher(text or "", region):
        if phonenumbers.is_valid_number(match.number):
            return phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164)
    return None


# --------------------------------------------------------------------------- when
#
# Common answers are read by the rules below, because dateparser gets them
# wrong or not at all ("yesterday evening", "last night around 10", "half two",
# "at 9" = 9 November). Relative spans ("20 mins ago") and written dates
# ("14th november") go to dateparser with British day-first settings.

_TOLERANCE = timedelta(minutes=2)  # "at 16:06" typed at 16:05 is not the future
_NOW = ("just now", "right now", "now", "a moment ago", "moments ago", "just",
        "just happened", "just this minute", "seconds ago", "this second", "a second ago")
_FILLERS = re.compile(
    r"\b(?:about|around|approx(?:imately)?|roughly|maybe|probably|sometime|some time|"
    r"i think|it happened|it was|happened|or so|give or take|ish)\b|-ish"
)
_SUBSTITUTIONS = (
    (re.compile(r"\ban hour and a half\b"), "90 minutes"),
    (re.compile(r"\bhalf an hour\b"), "30 minutes"),
    (re.compile(r"\ba couple of\b|\bcouple of\b"), "2"),
    (re.compile(r"\ba few\b|\bfew\b"), "3"),
    (re.compile(r"\b(\d+)\s*(?:hrs?)\b"), r"\1 hours"),
    (re.compile(r"\b(\d+)\s*(?:mins?)\b"), r"\1 minutes"),
)
_WORD_HOURS = {w: i for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve".split())}
_HOUR = r"(\d{1,2}|" + "|".join(_WORD_HOURS) + r")"
# Day parts -> (default time, meridiem the bare hours in it take).
_DAY_PARTS = {
    "midnight": (time(0, 0), "am"), "morning": (time(9, 0), "am"),
    "midday": (time(12, 0), "pm"), "noon": (time(12, 0), "pm"),
    "lunchtime": (time(12, 30), "pm"), "lunch": (time(12, 30), "pm"),
    "afternoon": (time(15, 0), "pm"), "teatime": (time(17, 30), "pm"),
    "evening": (time(19, 0), "pm"), "tonight": (time(19, 0), "pm"),
    "night": (time(22, 0), "night"),
}
_WEEKDAYS = {
    "monday": 0, "mon": 0, "tuesday": 1, "tue": 1, "tues": 1, "wednesday": 2, "wed": 2,
    "weds": 2, "thursday": 3, "thu": 3, "thur": 3, "thurs": 3, "friday": 4, "fri": 4,
    "saturday": 5, "sat": 5, "sunday": 6, "sun": 6,
}
_MONTHS = re.compile(
    r"\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\b(?!\s*(?:be|have))"
)
_NUMERIC_DATE = re.compile(r"\b(\d{1,2})[/-](\d{1,2})(?:[/-](\d{2}|\d{4}))?\b")


def parse_when(text: Optional[str], *, now: datetime, tz: str = "Europe/London") -> Optional[datetime]:
    """When something happened, as a tz-aware datetime in `tz`; None if unreadable or in the future.

    "20 mins ago", "at 3pm" (today, or yesterday if 3pm has not come yet),
    "yesterday evening" (19:00), "last night" (22:00), "this morning" (09:00),
    "14/11 at 09:30", "just now" (= now). A bare hour with no am/pm ("at 3",
    "half two") is the most recent such time; on an earlier day, 1-6 means pm.
    A date with no time is midday on that day (or now, if that is today and earlier).
    """
    zone = ZoneInfo(tz)
    now = now.astimezone(zone) if now.tzinfo else now.replace(tzinfo=zone)
    cleaned = _clean_when(text)
    if not cleaned or is_dont_know(cleaned):
        return None
    if cleaned in _NOW:
        return now
    if re.search(r"\b(?:tomorrow|next)\b", cleaned):
        return None  # an exposure cannot be in the future
    if "ago" in cleaned.split() or _MONTHS.search(cleaned):
        result = _dateparser(cleaned, now)
    elif _NUMERIC_DATE.search(cleaned):
        result = _numeric_date(cleaned, now)
    else:
        result = _relative_day(cleaned, now)
    if result is None or result > now + _TOLERANCE:
        return None
    return result


def _clean_when(text: Optional[str]) -> str:
    t = _APOSTROPHES.sub("'", (text or "").lower())
    t = re.sub(r"[^a-z0-9:/.'\- ]+", " ", t)
    t = _FILLERS.sub(" ", t)
    for pattern, replacement in _SUBSTITUTIONS:
        t = pattern.sub(replacement, t)
    t = re.sub(r"\s+", " ", t).strip(" .")
    return re.sub(r"^(?:on|at the|on the)\s+", "", t)


def _clock(t: str) -> Optional[Tuple[int, int, Optional[str]]]:
    """Find a time of day: (hour, minute, "am"/"pm"/"24"/None when am or pm is not said)."""
    m = re.search(r"\b(\d{1,2})(?:[:.](\d{2}))?\s*([ap])\.?\s?m\b\.?", t)
    if m:
        return int(m.group(1)), int(m.group(2) or 0), m.group(3) + "m"
    m = re.search(r"\b(\d{1,2})[:.](\d{2})\b", t)
    if m:
        hour = int(m.group(1))
        clear = hour > 12 or hour == 0 or m.group(1).startswith("0")
        return hour, int(m.group(2)), "24" if clear else None
    m = re.search(r"\b(?:at\s+)?([01]\d|2[0-3])([0-5]\d)\s*(?:hrs|hours|h)\b", t)
    if m:
        return int(m.group(1)), int(m.group(2)), "24"
    m = re.search(rf"\bhalf (?:past )?{_HOUR}\b", t)
    if m:
        return _hour(m.group(1)), 30, None
    m = re.search(rf"\bquarter past {_HOUR}\b", t)
    if m:
        return _hour(m.group(1)), 15, None
    m = re.search(rf"\bquarter to {_HOUR}\b", t)
    if m:
        return (_hour(m.group(1)) - 1) % 12 or 12, 45, None
    m = re.search(rf"\b{_HOUR} o'?clock\b", t) or re.search(rf"\b(?:at|by|from) {_HOUR}\b", t)
    if m:
        return _hour(m.group(1)), 0, None
    m = re.fullmatch(r"(\d{1,2})", t)  # a bare "9" answering "when?"
    if m:
        return int(m.group(1)), 0, None
    return None


def _hour(token: str) -> int:
    return int(token) if token.isdigit() else _WORD_HOURS[token]


def _bare_hour(t: str) -> Optional[int]:
    """A lone number next to a day part: "last night 10", "this morning 9"."""
    m = re.search(r"(?<![\d:/.])\b(\d{1,2})\b(?![\d:/.])(?!\s*(?:minutes|hours|days|weeks))", t)
    return int(m.group(1)) if m and int(m.group(1)) <= 23 else None


def _to_24h(hour: int, meridiem: Optional[str]) -> int:
    if meridiem == "pm":
        return hour if hour >= 12 else hour + 12
    if meridiem == "am":
        return 0 if hour == 12 else hour
    return hour


def _at(day, hour: int, minute: int, zone) -> Optional[datetime]:
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        return None
    return datetime.combine(day, time(hour, minute), tzinfo=zone)


def _day_part(t: str) -> Optional[str]:
    for name in _DAY_PARTS:
        if re.search(rf"\b{name}\b", t):
            return name
    return None


def _day_offset(t: str, now: datetime) -> Optional[int]:
    """Days back from today named by the text, or None if no day is named."""
    if re.search(r"\bday before yesterday\b", t):
        return 2
    if re.search(r"\b(?:yesterday|yday|last night)\b", t):
        return 1
    if re.search(r"\b(?:today|this|tonight)\b", t):
        return 0
    for word, weekday in _WEEKDAYS.items():
        if re.search(rf"\b{word}\b", t):
            back = (now.weekday() - weekday) % 7
            # "last monday" said on a Monday is a week ago; "monday" is today.
            return 7 if back == 0 and re.search(rf"\blast {word}\b", t) else back
    return None


def _relative_day(t: str, now: datetime) -> Optional[datetime]:
    """Day words, day parts and clock times without a written date."""
    zone = now.tzinfo
    offset = _day_offset(t, now)
    part = _day_part(t)
    clock = _clock(t)
    if clock is None and part is not None:
        hour = _bare_hour(t)
        clock = (hour, 0, None) if hour is not None else None
    if offset is None and part is None and clock is None:
        return _dateparser(t, now)
    if offset is None:
        # No day named: the most recent matching time today or yesterday.
        found = [c for d in (0, 1) for c in _candidates(now.date() - timedelta(d), part, clock, zone)]
        past = [c for c in found if c <= now + _TOLERANCE]
        return max(past) if past else None
    day = now.date() - timedelta(days=offset)
    if clock is None and part is None:
        return _date_only(day, now)
    candidates = _candidates(day, part, clock, zone)
    if offset == 0:
        past = [c for c in candidates if c <= now + _TOLERANCE]
        if past:
            return max(past)
        # "this morning" said at 07:30: earlier this morning, so no later than now.
        return now if clock is None else None
    return _working_hours(candidates, clock)


def _candidates(day, part: Optional[str], clock, zone) -> list:
    """Possible datetimes on `day` for a day part and/or a clock time."""
    if clock is None:
        return [_at(day, _DAY_PARTS[part][0].hour, _DAY_PARTS[part][0].minute, zone)]
    hour, minute, meridiem = clock
    if meridiem is None and part is not None:
        meridiem = _DAY_PARTS[part][1]
    if meridiem == "night":
        # "last night at 2" is the small hours of the next day; "at 10" is 22:00.
        if hour <= 5:
            return [_at(day + timedelta(days=1), hour, minute, zone)]
        meridiem = "pm"
    if meridiem is None and 1 <= hour <= 12:
        options = [_at(day, hour % 12, minute, zone), _at(day, hour % 12 + 12, minute, zone)]
    else:
        options = [_at(day, _to_24h(hour, meridiem), minute, zone)]
    return [o for o in options if o is not None]


def _working_hours(candidates: list, clock) -> Optional[datetime]:
    """On an earlier day an unmarked 1-6 is afternoon, 7-12 is morning ("yesterday at 4")."""
    if not candidates:
        return None
    if len(candidates) == 2 and clock is not None:
        return candidates[1] if 1 <= clock[0] <= 6 else candidates[0]
    return candidates[0]


def _date_only(day, now: datetime) -> datetime:
    noon = datetime.combine(day, time(12, 0), tzinfo=now.tzinfo)
    return min(noon, now)


def _numeric_date(t: str, now: datetime) -> Optional[datetime]:
    """"14/11", "14/11/26" and "14-11 at 09:30": day first, this year unless that is ahead."""
    m = _NUMERIC_DATE.search(t)
    day_no, month = int(m.group(1)), int(m.group(2))
    year = int(m.group(3)) if m.group(3) else now.year
    if m.group(3) and year < 100:
        year += 2000
    try:
        day = now.date().replace(year=year, month=month, day=day_no)
    except ValueError:
        return None
    if not m.group(3) and day > now.date():
        day = day.replace(year=year - 1)
    rest = (t[: m.start()] + " " + t[m.end():]).strip()
    clock = _clock(rest)
    part = _day_part(rest)
    if clock is None and part is not None:
        hour = _bare_hour(rest)
        clock = (hour, 0, None) if hour is not None else None
    if clock is None and part is None:
        return _date_only(day, now)
    candidates = _candidates(day, part, clock, now.tzinfo)
    if day == now.date():
        past = [c for c in candidates if c <= now + _TOLERANCE]
        return max(past) if past else None
    return _working_hours(candidates, clock)


def _dateparser(t: str, now: datetime) -> Optional[datetime]:
    """Relative spans and written dates, British order, never in the future."""
    import dateparser  # slow to import: only when needed

    if re.fullmatch(r"\d+", t):  # dateparser reads a bare "9" as the 9th of the month
        return None
    settings = {
        "DATE_ORDER": "DMY",
        "PREFER_DATES_FROM": "past",
        "RELATIVE_BASE": now.replace(tzinfo=None),
        "RETURN_AS_TIMEZONE_AWARE": False,
    }
    parsed = dateparser.parse(t, languages=["en"], settings=settings)
    if parsed is None:
        return None
    result = parsed.replace(tzinfo=now.tzinfo)
    if "ago" not in t.split() and _clock(t) is None and result.time() == time(0, 0):
        return _date_only(result.date(), now)  # a date with no time given
    return result
