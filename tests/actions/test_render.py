"""How times and advice are put into words."""
from datetime import datetime, timezone

from actions.render import call_by_text

NOW = datetime(2026, 11, 23, 14, 0, tzinfo=timezone.utc)


def test_call_by_today_is_a_clock_time_in_london():
    assert call_by_text("2026-11-23T15:00:00+00:00", NOW) == "15:00"
    assert call_by_text("2026-07-01T02:40:00+00:00", datetime(2026, 7, 1, 1, 0, tzinfo=timezone.utc)) == "03:40"


def test_call_by_on_another_day_names_the_day():
    assert call_by_text("2026-11-24T00:20:00+00:00", NOW) == "00:20 on Tue 24 Nov"


def test_no_time_promises_nothing():
    assert call_by_text(None, NOW) is None and call_by_text("soon", NOW) is None
