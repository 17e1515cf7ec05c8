from datetime import UTC, datetime

import pytest

from enrollment.window import access_ends_at, add_months


def utc(*args):
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("start", "months", "end"),
    [
        (utc(2016, 10, 24), 2, utc(2016, 12, 24)),
        (utc(2016, 10, 24), 4, utc(2017, 2, 24)),
        (utc(2027, 1, 31), 1, utc(2027, 2, 28)),
        (utc(2028, 1, 31), 1, utc(2028, 2, 29)),
        (utc(2026, 12, 31, 9, 30), 2, utc(2027, 2, 28, 9, 30)),
        (utc(2026, 8, 31), 1, utc(2026, 9, 30)),
        (utc(2026, 11, 15), 14, utc(2028, 1, 15)),
    ],
)
def test_window_adds_calendar_months(settings, start, months, end):
    settings.TIME_ZONE = "UTC"
    assert access_ends_at(starts_at=start, months=months) == end


def test_add_months_clamps_to_last_day_of_month():
    assert add_months(utc(2027, 3, 31, 10), 1) == utc(2027, 4, 30, 10)


def test_extension_later_than_window_wins(settings):
    settings.TIME_ZONE = "UTC"
    extended = utc(2017, 1, 10)
    assert access_ends_at(starts_at=utc(2016, 10, 24), months=2, extended_until=extended) == extended


def test_extension_earlier_than_window_is_ignored(settings):
    settings.TIME_ZONE = "UTC"
    assert access_ends_at(starts_at=utc(2016, 10, 24), months=2, extended_until=utc(2016, 11, 1)) == utc(2016, 12, 24)


def test_months_are_counted_on_the_site_calendar_across_dst(settings):
    # Midnight 24 Oct in Jerusalem (summer time, UTC+3) ends at midnight 24 Dec there (winter, UTC+2).
    settings.TIME_ZONE = "Asia/Jerusalem"
    start = utc(2016, 10, 23, 21)
    assert access_ends_at(starts_at=start, months=2) == utc(2016, 12, 23, 22)
