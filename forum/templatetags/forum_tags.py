from django import template
from django.urls import reverse
from django.utils.dates import MONTHS_3

from enrollment.access import course_access

from .. import permissions
from ..selectors import lesson_threads

register = template.Library()

# The forum's permissions, asked as `{% if user|may_edit:post %}`: the same predicates the views and services ask.
register.filter("may_see_hidden", permissions.may_see_hidden)
register.filter("may_moderate", permissions.may_moderate)
register.filter("may_add_to_faq", permissions.may_add_to_faq)
register.filter("may_reply", permissions.may_reply)
register.filter("may_mark_answer", permissions.may_mark_answer)
register.filter("may_edit", permissions.may_edit)
register.filter("may_delete", permissions.may_delete)


@register.filter
def member_name(user):
    """A member's name for forum pages: never their email address."""
    if user is None:
        return "Former member"
    return user.get_full_name() or f"Member {user.pk}"


@register.filter(expects_localtime=True)
def forum_time(value):
    """`{{ when|forum_time }}`: what `|date:"j M Y, H:i"` shows ("1 Dec 2026, 07:08", in the viewer's zone), at a
    third of its cost: thread lists and pages show one or two a row.
    """
    if not value:
        return ""
    return f"{value.day} {MONTHS_3[value.month].title()} {value.year}, {value:%H:%M}"


@register.filter(expects_localtime=True)
def iso_time(value):
    """`{{ when|iso_time }}`: what `|date:"c"` shows, for a <time datetime>."""
    return value.isoformat() if value else ""


@register.filter
def page_links(page):
    """The page numbers a pager shows: the first, the last and two each side of the current one, with None
    for a gap ("…") after the first or before the last. A handful, however many pages there are.
    """
    last, current = page.paginator.num_pages, page.number
    numbers = sorted({1, 2, last - 1, last, *range(current - 2, current + 3)} & set(range(1, last + 1)))
    return [number if number in {1, last} or abs(number - current) <= 2 else None for number in numbers]


@register.filter
def clock(seconds):
    """12:34 or 1:02:03 for a moment of a video."""
    if seconds is None or seconds == "":
        return ""
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


@register.inclusion_tag("forum/_lesson_threads.html", takes_context=True)
def lesson_forum(context, lesson):
    """The threads about a lesson and "Ask about this lesson", for those who may use the forum."""
    user = context["request"].user
    access = context.get("access") or course_access(user, lesson.course)
    if not access.forum():
        return {"allowed": False}
    course = lesson.course
    return {
        "allowed": True,
        "course": course,
        "lesson": lesson,
        "threads": lesson_threads(lesson=lesson, user=user),
        "ask_url": f"{reverse('forum:new_thread', args=[course.slug])}?lesson={lesson.slug}",
    }
