"""The syllabus as a PDF, built from the live course content."""

from io import BytesIO
from xml.sax.saxutils import escape

from django.utils import timezone
from django.utils.formats import date_format
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import cm
from reportlab.platypus import ListFlowable, ListItem, Paragraph, SimpleDocTemplate, Spacer

from .selectors import sections_with_lessons


def syllabus_pdf(course, *, run=None, opens_at=None) -> bytes:
    """Return a PDF of the course's sections, their summaries and lessons.

    `opens_at(lesson)` says when a lesson opens for `run` (None: from the start); the view passes it, since
    runs are not this app's.
    """
    buffer = BytesIO()
    document = SimpleDocTemplate(
        buffer, pagesize=A4, title=f"{course.title} – Syllabus", author=course.instructor_name or "",
        leftMargin=2 * cm, rightMargin=2 * cm, topMargin=2 * cm, bottomMargin=2 * cm,
    )  # fmt: skip
    styles = getSampleStyleSheet()
    story = [Paragraph(escape(course.title), styles["Title"])]
    if course.tagline:
        story.append(Paragraph(escape(course.tagline), styles["Italic"]))
    if run is not None:
        story.append(Paragraph(escape(f"Next run: {run.title}, starting {run.starts_at:%d %B %Y}"), styles["Normal"]))
    story.append(Spacer(1, 0.5 * cm))
    sections = sections_with_lessons(course)
    for number, section in enumerate(sections, start=1):
        story.append(Paragraph(escape(f"{number}. {section.title}"), styles["Heading2"]))
        if section.summary:
            story.append(Paragraph(escape(section.summary), styles["BodyText"]))
        lessons = [
            ListItem(Paragraph(escape(_lesson_line(lesson, opens_at)), styles["BodyText"]), leftIndent=12)
            for lesson in section.lessons.all()
        ]
        if lessons:
            story.append(ListFlowable(lessons, bulletType="bullet", start="•", leftIndent=12))
    document.build(story)
    return buffer.getvalue()


def _lesson_line(lesson, opens_at=None):
    extra = f" ({lesson.video_minutes} min video)" if lesson.video_minutes else ""
    when = opens_at(lesson) if opens_at else None
    if when is not None:
        extra += f", opens {date_format(timezone.localtime(when), 'j F Y, H:i')}"
    return f"{lesson.title}{extra}"
