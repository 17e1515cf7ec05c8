"""What other apps' pages and emails say about office hours, composed in their templates."""

from django import template

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
