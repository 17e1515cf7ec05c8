"""The course home's syllabus and progress chart, built in Python: the template engine's loop over a course's
lessons cost most of the page (a student's ticks and marks differ on every row, so the rows are not cached).

Every value from the database is escaped here; the functions return safe HTML.
"""

from html import escape  # the standard library's: the same five characters, without Django's lazy-string check

from django import template
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.safestring import mark_safe

from ..outline import NEW, UPDATED, Syllabus, SyllabusSection

register = template.Library()

TICK = '<span class="tick" aria-hidden="true">✓</span><span class="visually-hidden">Completed:</span>'
PASSED = '<span class="tick" aria-hidden="true">✓</span><span class="visually-hidden">Passed:</span>'
TODO = '<span aria-hidden="true" class="text-body-secondary">○</span>'
NEW_BADGE = (
    ' <span class="badge text-bg-info mark-new">New<span class="visually-hidden"> since your last visit</span></span>'
)
UPDATED_BADGE = (
    ' <span class="badge text-bg-secondary mark-updated">Updated<span class="visually-hidden"> since your last visit'
    "</span></span>"
)


def when(moment, fmt="j M Y, H:i") -> str:
    """A moment in the viewer's zone (the active one)."""
    return date_format(timezone.localtime(moment), fmt)


def _lesson_row(lesson, syllabus: Syllabus, *, staff: bool) -> str:
    state = TICK if lesson.id in syllabus.done else TODO
    title = escape(lesson.title)
    link = f'<a href="{escape(lesson.url)}">{title}</a>'
    if syllabus.is_released(lesson):
        name = link
        mark = syllabus.marks.get(lesson.id) if syllabus.marks_since else None
        if mark == NEW:
            name += NEW_BADGE
        elif mark == UPDATED:
            name += UPDATED_BADGE
            if lesson.change_note:
                day, note = when(lesson.content_updated_at, "j M Y"), escape(lesson.change_note)
                name += f' <span class="change-note small d-block">What changed ({day}): {note}</span>'
    else:
        soon = f' <span class="badge text-bg-warning">Coming soon: {when(lesson.opens_at)}</span>'
        name = (link if staff else title) + soon
    meta = f"{lesson.video_minutes} min video" if lesson.video_minutes else f"{lesson.estimated_minutes} min"
    return (
        f'<li class="lesson-row py-1 border-top"><span class="state">{state}</span>'
        f'<span class="title">{name}</span><span class="meta small text-body-secondary">{meta}</span></li>'
    )


def _quiz_row(item: SyllabusSection, *, staff: bool) -> str:
    quiz = item.quiz
    title = f"Quiz: {escape(quiz.title)}"
    released = item.quiz_released
    name = f'<a href="{escape(quiz.url)}">{title}</a>' if released or staff else title
    if item.quiz_passed:
        name += ' <span class="badge text-bg-success">Passed</span>'
    if not released:
        name += f' <span class="badge text-bg-warning">Coming soon: {when(item.quiz_opens_at)}</span>'
    return (
        f'<li class="lesson-row quiz-row py-1 border-top" data-testid="section-quiz">'
        f'<span class="state">{PASSED if item.quiz_passed else TODO}</span><span class="title">{name}</span>'
        f'<span class="meta small text-body-secondary">pass mark {quiz.pass_percent}%</span></li>'
    )


def section_rows(item: SyllabusSection, *, staff: bool) -> str:
    """The `<li>` of each lesson of a section of the course home, then its quiz's."""
    syllabus = item.syllabus
    rows = "".join(_lesson_row(lesson, syllabus, staff=staff) for lesson in item.lessons)
    return mark_safe(rows + (_quiz_row(item, staff=staff) if item.quiz else ""))  # noqa: S308 - escaped above


@register.simple_tag
def syllabus_sections(syllabus: Syllabus, *, staff: bool, expanded, fragment_prefix: str = ""):
    """The course home's sections, each a card with its progress and its lessons.

    `expanded` is the set of the ids of the sections whose lessons are shown, or None for all of them. The
    other sections show their heading and counts; the heading is a link to the page with that section
    expanded, which static/js/outline.js turns into a button that loads the lessons (from `fragment_prefix` and
    the section's id) in place.
    """
    parts = []
    for item in syllabus.sections:
        section = item.section
        pk = section.id
        title = f"{section.number}. {escape(section.title)}"
        counts = f"{item.completed_count} of {item.item_count} done ({item.percent}%)"
        lessons_id = f"section-{pk}-lessons"
        if expanded is None:
            heading, open_, hidden = title, True, ""
        else:
            open_ = pk in expanded
            hidden = "" if open_ else " hidden"
            count = len(section.lessons)
            counts += f" · {count} lesson{'' if count == 1 else 's'}"
            heading = (
                f'<a class="section-toggle" href="?section={pk}#section-{pk}" aria-controls="{lessons_id}" '
                f'data-expanded="{"true" if open_ else "false"}" '
                f'data-fragment="{escape(fragment_prefix)}{pk}/">{title}</a>'
            )
        summary = f"<p>{escape(section.summary)}</p>" if section.summary else ""
        rows = section_rows(item, staff=staff) if open_ else ""
        parts.append(
            f'<li class="card mb-3" id="section-{pk}"><div class="card-body">'
            f'<h3 class="h5 card-title">{heading}</h3>'
            f'<p class="small text-body-secondary mb-2">{counts}</p>{summary}'
            f'<ul class="list-unstyled mb-0" id="{lessons_id}"{hidden}>{rows}</ul></div></li>'
        )
    return mark_safe("".join(parts))  # noqa: S308 - every value is escaped


@register.simple_tag
def progress_chart(syllabus: Syllabus):
    """Progress per section as small bars; each bar is labelled with its numbers for screen readers."""
    if not syllabus.lesson_count:
        return ""
    bars = []
    for item in syllabus.sections:
        pk = item.section.id
        total = len(item.lessons)
        done = item.completed_lesson_count
        lessons = f"{done} of {total} lesson{'' if total == 1 else 's'}"
        percent = round(100 * done / total) if total else 0
        complete = ' class="is-complete"' if total and done == total else ""
        title = f"{item.section.number}. {escape(item.section.title)}"
        bar = f'<rect class="bar-done" width="{percent}" height="6"/>' if percent else ""
        bars.append(
            f"<li{complete}>"
            f'<span class="chart-section" id="chart-{pk}-name" aria-hidden="true" title="{escape(item.section.title)}">'
            f"{title}</span>"
            f'<span class="chart-count" id="chart-{pk}-count" aria-hidden="true">{lessons}</span>'
            f'<svg viewBox="0 0 100 6" preserveAspectRatio="none" role="img" '
            f'aria-labelledby="chart-{pk}-name chart-{pk}-count"><title>{lessons}</title>'
            f'<rect class="bar-track" width="100" height="6"/>{bar}</svg></li>'
        )
    return mark_safe(  # noqa: S308 - every value is escaped
        '<section class="progress-by-section card mb-4" aria-labelledby="progress-chart-heading" '
        'data-testid="progress-chart"><div class="card-body">'
        '<h2 class="h5 card-title" id="progress-chart-heading">Your progress by section</h2>'
        f'<ol class="progress-chart">{"".join(bars)}</ol></div></section>'
    )
