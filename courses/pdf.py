"""The syllabus as a PDF, built from the live course content."""

import unicodedata
from io import BytesIO
from pathlib import Path
from xml.sax.saxutils import escape

from django.utils import timezone
from django.utils.formats import date_format
from reportlab.lib.fonts import addMapping
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import cm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import ListFlowable, ListItem, Paragraph, SimpleDocTemplate, Spacer

from .outline import sections_with_lessons

# DejaVu Sans (vendored in courses/fonts with its license) covers Latin, Greek, Cyrillic and more: the
# PDF's built-in Helvetica knows Latin-1 only and prints "Łódź" as black boxes. Embedded as a subset.
FONTS = Path(__file__).resolve().parent / "fonts"
FONT, BOLD, ITALIC = "DejaVuSans", "DejaVuSans-Bold", "DejaVuSans-Oblique"


def register_fonts():
    """Register DejaVu Sans (regular, bold, oblique) with ReportLab, once per process."""
    if FONT in pdfmetrics.getRegisteredFontNames():
        return
    for name in (FONT, BOLD, ITALIC):
        pdfmetrics.registerFont(TTFont(name, str(FONTS / f"{name}.ttf")))
    addMapping(FONT, 0, 0, FONT)
    addMapping(FONT, 1, 0, BOLD)
    addMapping(FONT, 0, 1, ITALIC)
    addMapping(FONT, 1, 1, BOLD)


def unprintable(text: str) -> list[str]:
    """Return the characters of `text` the PDF font cannot print as written, in order, once each.

    Those it has no glyph for (DejaVu Sans has no Chinese, Japanese, Korean, Thai or Devanagari), and right-to-left
    letters (Hebrew, Arabic): ReportLab would lay them out left to right, so a name would print backwards.
    """
    register_fonts()
    glyphs = pdfmetrics.getFont(FONT).face.charToGlyph
    missing = []
    for char in text:
        if char.isspace() or char in missing:
            continue
        if ord(char) not in glyphs or unicodedata.bidirectional(char) in ("R", "AL"):
            missing.append(char)
    return missing


def _styles():
    """The sample styles, in DejaVu Sans: bold where they were bold, oblique where italic."""
    register_fonts()
    styles = getSampleStyleSheet()
    for style in styles.byName.values():
        current = getattr(style, "fontName", "")
        if "Bold" in current:
            style.fontName = BOLD
        elif "Italic" in current or "Oblique" in current:
            style.fontName = ITALIC
        else:
            style.fontName = FONT
        if hasattr(style, "bulletFontName"):
            style.bulletFontName = FONT
    return styles


def syllabus_pdf(course, *, run=None, opens_at=None) -> bytes:
    """Return a PDF of the course's sections, their summaries and lessons.

    `opens_at(lesson)` says when a lesson opens for `run` (None: from the start); the view passes it, since
    runs are not this app's.
    """
    buffer = BytesIO()
    styles = _styles()
    document = SimpleDocTemplate(
        buffer, pagesize=A4, title=f"{course.title} – Syllabus", author=course.instructor_name or "",
        leftMargin=2 * cm, rightMargin=2 * cm, topMargin=2 * cm, bottomMargin=2 * cm, initialFontName=FONT,
    )  # fmt: skip
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
            story.append(ListFlowable(lessons, bulletType="bullet", start="•", leftIndent=12, bulletFontName=FONT))
    document.build(story)
    return buffer.getvalue()


def _lesson_line(lesson, opens_at=None):
    extra = f" ({lesson.video_minutes} min video)" if lesson.video_minutes else ""
    when = opens_at(lesson) if opens_at else None
    if when is not None:
        extra += f", opens {date_format(timezone.localtime(when), 'j F Y, H:i')}"
    return f"{lesson.title}{extra}"
