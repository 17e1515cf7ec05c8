"""What other apps' pages and emails say about office hours, composed in their templates."""

from datetime import UTC

from django import template
from django.utils import timezone
from django.utils.dates import MONTHS, WEEKDAYS
from django.utils.html import format_html

from ..selectors import weekly_schedule

register = template.Library()


@register.simple_tag(name="weekly_schedule")
def weekly_schedule_tag(run):
    """{% weekly_schedule run as schedule %}: "Office hours: Mondays 08:00 Asia/Jerusalem and …", or "".

    Kept on the run object, so an email's text and HTML parts ask the database once.
    """
    if run is None:
        return ""
    if not hasattr(run, "_weekly_schedule"):
        run._weekly_schedule = weekly_schedule(run)
    return run._weekly_schedule


@register.filter
def when(session):
    """A session's time in the viewer's zone, as a <time> with the UTC instant: "Monday 15 January 2027, 09:00–10:00
    PST" (what |date:"l j F Y, H:i" and |date:"H:i T" show). A filter rather than an include, and without the date
    filter's format parser: a list of sessions shows one a row.
    """
    starts, ends = timezone.localtime(session.starts_at), timezone.localtime(session.ends_at)
    return format_html(
        '<time datetime="{}">{} {} {} {}, {}–{} {}</time>',
        f"{session.starts_at.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}",
        WEEKDAYS[starts.weekday()],
        starts.day,
        MONTHS[starts.month],
        starts.year,
        f"{starts:%H:%M}",
        f"{ends:%H:%M}",
        ends.tzname(),
    )


@register.filter(expects_localtime=True)
def day_month(value):
    """What |date:"j F" shows ("15 January"), without the date filter's format parser: lists show one a row."""
    return f"{value.day} {MONTHS[value.month]}" if value else ""


@register.filter(expects_localtime=True)
def day_month_time(value):
    """What |date:"j F, H:i" shows ("15 January, 09:00"), without the date filter's format parser."""
    return f"{value.day} {MONTHS[value.month]}, {value:%H:%M}" if value else ""
