"""The course outline beside a lesson, built in Python: every lesson page renders it, and for a course of
2,000 lessons the template engine's loop over them took about as long as the rest of the page. A large
course shows the lessons of the current section only; the other sections load theirs on demand."""

from html import escape  # the standard library's: the same five characters, without Django's lazy-string check

from django import template
from django.utils.safestring import mark_safe

from ..outline import Player, SyllabusSection
from .syllabus_tags import PASSED, TICK, TODO, when

register = template.Library()

LOCK = (
    '<svg class="lock" aria-hidden="true" focusable="false" width="12" height="12" viewBox="0 0 16 16" '
    'fill="currentColor"><path d="M8 1a3 3 0 0 0-3 3v3H4a1 1 0 0 0-1 1v6a1 1 0 0 0 1 1h8a1 1 0 0 0 1-1V8a1 1 '
    '0 0 0-1-1h-1V4a3 3 0 0 0-3-3m2 6H6V4a2 2 0 1 1 4 0z"/></svg><span class="visually-hidden">Locked:</span>'
)


def _row(lesson, player: Player) -> str:
    syllabus = player.syllabus
    title = escape(lesson.title)
    is_current = player.current is not None and lesson.id == player.current.id
    locked = not syllabus.is_released(lesson)
    classes = "outline-lesson" + (" current" if is_current else "") + (" locked" if locked else "")
    state = TICK if lesson.id in syllabus.done else LOCK if locked else TODO
    if player.may_open(lesson):
        current = ' aria-current="page"' if is_current else ""
        name = f'<a href="{escape(lesson.url)}"{current}>{title}</a>'
    else:
        name = f'<span class="text-body-secondary">{title}</span>'
    opens = ""
    if locked and lesson.opens_at is not None:
        opens = f'<span class="d-block small opens-at">Opens {when(lesson.opens_at)}</span>'
    return (
        f'<li class="{classes}" data-lesson="{escape(lesson.slug)}">'
        f'<span class="state">{state}</span><span class="title">{name}{opens}</span></li>'
    )


def _quiz(item: SyllabusSection, *, staff: bool) -> str:
    quiz = item.quiz
    released = item.quiz_released
    title = f"Quiz: {escape(quiz.title)}"
    if item.quiz_passed:
        state = PASSED
    elif not released:
        state = TODO + '<span class="visually-hidden">Locked:</span>'
    else:
        state = TODO
    if released or staff:
        name = f'<a href="{escape(quiz.url)}">{title}</a>'
    else:
        name = (
            f'<span class="text-body-secondary">{title}</span>'
            f'<span class="d-block small opens-at">Opens {when(item.quiz_opens_at)}</span>'
        )
    locked = "" if released or staff else " locked"
    return (
        f'<ul class="list-unstyled mb-0" aria-label="Quiz of {escape(item.section.title)}">'
        f'<li class="outline-lesson outline-quiz{locked}"><span class="state">{state}</span>'
        f'<span class="title">{name}</span></li></ul>'
    )


def section_lessons(item: SyllabusSection, player: Player, *, staff: bool) -> str:
    """A section's lessons in the outline (a tick or a lock each, a link when the viewer may open it, the
    current one marked aria-current, the date a locked one opens), then its quiz."""
    pk = item.section.id
    rows = "".join(_row(lesson, player) for lesson in item.lessons)
    quiz = _quiz(item, staff=staff) if item.quiz else ""
    return mark_safe(  # noqa: S308 - every value is escaped
        f'<ul class="list-unstyled mb-0" aria-labelledby="outline-section-{pk}">{rows}</ul>{quiz}'
    )


@register.simple_tag
def outline_sections(player: Player, *, staff: bool, counts: bool, expanded, fragment_prefix: str = ""):
    """The outline's sections: each a heading, the viewer's count of items done (`counts`), and its lessons.

    `expanded` is the set of the ids of the sections whose lessons are shown, or None for all. The heading of
    another section is a link to the page with that section expanded, which static/js/outline.js turns into a
    button that loads the lessons (from `fragment_prefix` and the section's id) in place.
    """
    parts = []
    for item in player.syllabus.sections:
        pk = item.section.id
        title = f"{item.section.number}. {escape(item.section.title)}"
        box = f"outline-section-{pk}-lessons"
        done = (
            f'<p class="small text-body-secondary mb-1"><span class="section-done">{item.completed_count}</span> '
            f"of {item.item_count} done</p>"
            if counts
            else ""
        )
        if expanded is None:
            heading, open_ = title, True
        else:
            open_ = pk in expanded
            heading = (
                f'<a class="section-toggle" href="?section={pk}#outline-section-{pk}" aria-controls="{box}" '
                f'data-expanded="{"true" if open_ else "false"}" '
                f'data-fragment="{escape(fragment_prefix)}{pk}/">{title}</a>'
            )
        lessons = section_lessons(item, player, staff=staff) if open_ else ""
        hidden = "" if open_ else " hidden"
        parts.append(
            f'<li class="outline-section mb-3"><h3 class="h6 mb-1" id="outline-section-{pk}">{heading}</h3>{done}'
            f'<div class="section-lessons" id="{box}"{hidden}>{lessons}</div></li>'
        )
    return mark_safe("".join(parts))  # noqa: S308 - every value is escaped
