"""A certificate as a one-page PDF, in the syllabus's font (courses.pdf: DejaVu Sans, embedded as a subset)."""

from io import BytesIO

from django.utils.formats import date_format
from reportlab.lib.colors import HexColor
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.units import cm
from reportlab.lib.utils import simpleSplit
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas

from courses.pdf import BOLD, FONT, ITALIC, register_fonts

from .certificates import completed_on

INK = HexColor("#212529")
MUTED = HexColor("#495057")
ACCENT = HexColor("#0d6efd")


def _fitted_size(text, font, *, largest, smallest, width):
    """The largest font size from `largest` down to `smallest` at which `text` fits `width`."""
    size = largest
    while size > smallest and stringWidth(text, font, size) > width:
        size -= 1
    return size


def _centred(canvas, text, *, y, font, size, width, colour=INK, smallest=None):
    """Draw `text` centred on the page with its first baseline at `y`: made smaller (down to `smallest`) until it
    fits `width`, and wrapped if it still does not. Return the baseline below the last line."""
    size = _fitted_size(text, font, largest=size, smallest=smallest or size, width=width)
    canvas.setFont(font, size)
    canvas.setFillColor(colour)
    for line in simpleSplit(text, font, size, width) or [""]:
        canvas.drawCentredString(landscape(A4)[0] / 2, y, line)
        y -= size * 1.25
    return y


def certificate_pdf(certificate, *, verify_url: str) -> bytes:
    """Return the certificate as a PDF: name, course, run, date of completion and where to verify it.

    Load `certificate.course`, `.run` and `.user` with it.
    """
    register_fonts()
    buffer = BytesIO()
    pagesize = landscape(A4)
    page_width, page_height = pagesize
    canvas = Canvas(buffer, pagesize=pagesize, pageCompression=1, initialFontName=FONT)
    course = certificate.course
    canvas.setTitle(f"Certificate: {certificate.name} – {course.title}")
    canvas.setAuthor(course.instructor_name or course.title)
    canvas.setSubject(f"Certificate of completion, {verify_url}")

    margin = 1.5 * cm
    canvas.setStrokeColor(ACCENT)
    canvas.setLineWidth(3)
    canvas.rect(margin, margin, page_width - 2 * margin, page_height - 2 * margin)
    canvas.setLineWidth(0.8)
    canvas.rect(margin + 8, margin + 8, page_width - 2 * margin - 16, page_height - 2 * margin - 16)

    width = page_width - 6 * cm
    day = date_format(completed_on(certificate), "j F Y")
    y = page_height - 4.5 * cm
    y = _centred(canvas, "Certificate of completion", y=y, font=BOLD, size=30, width=width, colour=ACCENT)
    y = _centred(canvas, "This certifies that", y=y - 0.8 * cm, font=FONT, size=14, width=width, colour=MUTED)
    y = _centred(canvas, certificate.name, y=y - 1.2 * cm, font=BOLD, size=34, smallest=18, width=width)
    y = _centred(canvas, "completed the course", y=y - 0.3 * cm, font=FONT, size=14, width=width, colour=MUTED)
    y = _centred(canvas, course.title, y=y - 0.9 * cm, font=BOLD, size=24, smallest=14, width=width)
    line = f"{certificate.run.title}, completed on {day}"
    y = _centred(canvas, line, y=y - 0.3 * cm, font=FONT, size=13, smallest=10, width=width)
    if course.instructor_name:
        line = f"Instructor: {course.instructor_name}"
        _centred(canvas, line, y=y - 0.3 * cm, font=ITALIC, size=12, smallest=9, width=width, colour=MUTED)
    _centred(canvas, "Verify this certificate at", y=margin + 2 * cm, font=FONT, size=10, width=width, colour=MUTED)
    _centred(canvas, verify_url, y=margin + 1.4 * cm, font=FONT, size=10, smallest=6, width=width, colour=ACCENT)
    canvas.linkURL(verify_url, (margin, margin + 1.2 * cm, page_width - margin, margin + 1.9 * cm), relative=0)

    canvas.showPage()
    canvas.save()
    return buffer.getvalue()
