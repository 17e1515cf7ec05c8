"""What other apps' pages and emails say about office hours, composed in their templates."""

from django import template

from ..selectors import weekly_schedule

register = template.Library()

# {% weekly_schedule run as schedule %}: "Office hours: Mondays 08:00 Asia/Jerusalem and …", or "" without slots.
register.simple_tag(weekly_schedule, name="weekly_schedule")
