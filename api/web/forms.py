"""Form problems in the GOV.UK error-summary pattern: each problem names the field it is about,
so the summary at the top links to the field and the field repeats the words beside itself.

A form handler collects problems, and on any problem re-renders the form with what was typed
(never an empty form) and status 400; templates/_forms.html draws them.
"""
from __future__ import annotations

from collections.abc import Iterator
from datetime import date


class Problems:
    """Field id -> message, in the order the fields appear (the first problem per field wins)."""

    def __init__(self) -> None:
        self._items: dict[str, str] = {}

    def add(self, field: str, message: str) -> None:
        self._items.setdefault(field, message)

    def get(self, field: str) -> str | None:
        return self._items.get(field)

    def __bool__(self) -> bool:
        return bool(self._items)

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self._items.items())

    def __len__(self) -> int:
        return len(self._items)

    def messages(self) -> list[str]:
        return list(self._items.values())


def typed_date(typed: str, field: str, message: str, problems: Problems) -> date | None:
    """A date typed as YYYY-MM-DD; None when left empty, or (with `message` added to `field`) when it
    is not a real date."""
    text = typed.strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        problems.add(field, message)
        return None
