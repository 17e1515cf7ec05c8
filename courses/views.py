import functools
import mimetypes
import os
import re

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.db import connection
from django.http import FileResponse, Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from enrollment import announcements, certificates
from enrollment.access import LOGIN_REQUIRED, course_access
from enrollment.releases import schedule_for
from enrollment.selectors import latest_enrollment, offered_run

from .models import Course, FAQEntry, Lesson, LessonProgress, Resource
from .pdf import syllabus_pdf
from .selectors import neighbours, sections_with_lessons, syllabus_for
from .services import record_course_visit, record_lesson_opened, record_video_position, set_lesson_completed

MARKED_COMPLETE = "Lesson marked complete."
MARKED_INCOMPLETE = "Lesson marked as not complete."


def refuse(request, decision, *, course, lesson=None, template="courses/access_denied.html", extra_context=None):
    """Answer a refused request: visitors go to log in; others learn why, never the content."""
    if decision.reason == LOGIN_REQUIRED:
        return redirect_to_login(request.get_full_path())
    context = {"course": course, "lesson": lesson, "decision": decision, **(extra_context or {})}
    return render(request, template, context, status=403)


def course_or_404(request, slug):
    """Return the course at this address if the user may see it at all (unpublished: staff only), else 404."""
    return _visible_or_404(request, get_object_or_404(Course, slug=slug))


def _visible_or_404(request, course):
    if not course.is_visible_to(request.user):
        raise Http404("No such course.")
    return course


def course_view(policy, *, template="courses/access_denied.html", extra_context=None):
    """Make a decorator for the pages of one part of a course (the forum, office hours).

    The decorated view is called as `view(request, course, access, ...)` once the course is found (else
    404) and `policy(access)` (a CourseAccess method, e.g. `CourseAccess.forum`) allows it; a refusal
    goes through `refuse`, shown on `template` with `extra_context`.
    """

    def decorator(view):
        @functools.wraps(view)
        def wrapper(request, slug, *args, **kwargs):
            course = course_or_404(request, slug)
            access = course_access(request.user, course)
            decision = policy(access)
            if not decision:
                return refuse(request, decision, course=course, template=template, extra_context=extra_context)
            return view(request, course, access, *args, **kwargs)

        return wrapper

    return decorator


def home(request):
    """Send a student to their course, everyone else to the course on offer."""
    if request.user.is_authenticated:
        enrollment = latest_enrollment(user=request.user)
        if enrollment:
            if enrollment.run.course.is_published or request.user.is_staff:
                return redirect("courses:home", enrollment.run.course.slug)
    visible = Course.objects.visible_to(request.user)
    courses = list(visible[:2])
    if len(courses) == 1:
        return redirect(courses[0])
    return render(request, "courses/course_list.html", {"courses": visible})


def healthz(request):
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return HttpResponse("ok", content_type="text/plain")


def landing(request, slug):
    course = course_or_404(request, slug)
    sections = sections_with_lessons(course)
    run = offered_run(course=course)
    releases = schedule_for(run)
    for section in sections:
        for lesson in section.lessons.all():
            lesson.opens_at = releases.opens_at(lesson)  # the dates of the run on sale
    access = course_access(request.user, course)
    offers = [(tier, access.may_buy(tier)) for tier in run.tiers.all()] if run else []
    context = {
        "course": course,
        "sections": sections,
        "lesson_count": sum(len(section.lessons.all()) for section in sections),
        "video_minutes": sum(lesson.video_minutes for section in sections for lesson in section.lessons.all()),
        "run": run,
        "offers": offers,
        "faq_entries": course.faq_entries.all()[:5],
        "now": timezone.now(),
    }
    return render(request, "courses/course_landing.html", context)


def faq(request, slug):
    course = course_or_404(request, slug)
    entries = FAQEntry.objects.filter(course=course)
    return render(request, "courses/course_faq.html", {"course": course, "entries": entries})


def syllabus_download(request, slug):
    course = course_or_404(request, slug)
    run = offered_run(course=course)
    pdf = syllabus_pdf(course, run=run, opens_at=schedule_for(run).opens_at)  # the dates of the run on sale
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{course.slug}-syllabus.pdf"'
    return response


def course_home(request, slug):
    course = course_or_404(request, slug)
    access = course_access(request.user, course)
    decision = access.course_home()
    if not decision:
        return refuse(request, decision, course=course)
    marks_since = record_course_visit(user=request.user, course=course, now=access.at)
    syllabus = syllabus_for(
        course, user=request.user, at=access.at, opens_at=access.releases.opens_at, marks_since=marks_since
    )
    context = {
        "course": course,
        "access": access,
        "syllabus": syllabus,
        "forum": access.forum(),
        "office_hours": access.office_hours(),
        "announcements": announcements.for_course_home(access),
        "certificate": certificates.for_course_home(
            access, lesson_count=syllabus.lesson_count, completed_count=syllabus.completed_count
        ),
    }
    return render(request, "courses/course_home.html", context)


@require_POST
def announcement_dismiss(request, slug, pk):
    """Dismiss an announcement of the course home for this user (the page's script asks for JSON)."""
    course = course_or_404(request, slug)
    access = course_access(request.user, course)
    decision = access.course_home()
    if not decision:
        return refuse(request, decision, course=course)
    announcement = get_object_or_404(announcements.visible_to(access), pk=pk)
    announcements.dismiss(user=request.user, announcement=announcement)
    if "application/json" in request.headers.get("Accept", ""):
        return JsonResponse({"dismissed": announcement.pk, "message": announcements.DISMISSED})
    messages.success(request, announcements.DISMISSED)
    return redirect("courses:home", course.slug)


def _lesson_or_404(request, slug, lesson_slug):
    lessons = Lesson.objects.select_related("course", "section")
    lesson = get_object_or_404(lessons, course__slug=slug, slug=lesson_slug)
    _visible_or_404(request, lesson.course)
    return lesson


def lesson_detail(request, slug, lesson_slug):
    lesson = _lesson_or_404(request, slug, lesson_slug)
    course = lesson.course
    access = course_access(request.user, course)
    decision = access.lesson(lesson)
    if not decision:
        return refuse(request, decision, course=course, lesson=lesson)
    progress = None
    if request.user.is_staff:
        progress = LessonProgress.objects.filter(user=request.user, lesson=lesson).first()
    elif request.user.is_authenticated:
        progress = record_lesson_opened(user=request.user, lesson=lesson)
    previous, following = neighbours(course, lesson)
    position = int(progress.video_position) if progress else 0
    context = {
        "course": course,
        "lesson": lesson,
        "access": access,
        "progress": progress,
        "resources": list(lesson.resources.all()),
        "previous": previous,
        "next": following,
        "embed": lesson.embed(start=position),
        "resume_at": position,
        "transcript": lesson.transcript_lines,
    }
    return render(request, "courses/lesson_detail.html", context)


@require_POST
def lesson_complete(request, slug, lesson_slug):
    lesson = _lesson_or_404(request, slug, lesson_slug)  # first: an unpublished course is 404 to visitors too
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    decision = course_access(request.user, lesson.course).lesson(lesson)
    if not decision:
        return refuse(request, decision, course=lesson.course, lesson=lesson)
    completed = request.POST.get("completed") == "1"
    set_lesson_completed(user=request.user, lesson=lesson, completed=completed)
    messages.success(request, MARKED_COMPLETE if completed else MARKED_INCOMPLETE)
    return redirect(lesson)


@require_POST
def lesson_position(request, slug, lesson_slug):
    """Save the video position; the page posts it while the student watches and when the tab closes."""
    lesson = _lesson_or_404(request, slug, lesson_slug)  # first: an unpublished course is 404 to visitors too
    if not request.user.is_authenticated:
        return JsonResponse({"error": "Log in to save your place."}, status=401)
    decision = course_access(request.user, lesson.course).lesson(lesson)
    if not decision:
        return JsonResponse({"error": decision.message}, status=403)
    try:
        seconds = float(request.POST.get("seconds", ""))
    except ValueError:
        return JsonResponse({"error": "seconds must be a number."}, status=400)
    if not (0 <= seconds < 24 * 3600):
        return JsonResponse({"error": "seconds is out of range."}, status=400)
    record_video_position(user=request.user, lesson=lesson, seconds=seconds)
    return JsonResponse({"saved": seconds})


def _serve_private_file(request, field_file, *, as_attachment=False):
    """Stream a stored file, honouring a single byte Range so that video seeking works."""
    if not field_file:
        raise Http404("No file.")
    try:
        size = field_file.size
    except OSError as error:
        raise Http404("The file is missing.") from error
    content_type = mimetypes.guess_type(field_file.name)[0] or "application/octet-stream"
    filename = os.path.basename(field_file.name)
    match = re.fullmatch(r"bytes=(\d*)-(\d*)", request.headers.get("Range", "").strip())
    if match and (match.group(1) or match.group(2)):
        first, last = match.groups()
        if first:
            start, end = int(first), min(int(last) if last else size - 1, size - 1)
        else:
            start, end = max(0, size - int(last)), size - 1
        if start > end or start >= size:
            response = HttpResponse(status=416)
            response["Content-Range"] = f"bytes */{size}"
            return response
        handle = field_file.open("rb")
        handle.seek(start)
        data = handle.read(end - start + 1)
        handle.close()
        response = HttpResponse(data, status=206, content_type=content_type)
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
    else:
        response = FileResponse(field_file.open("rb"), content_type=content_type, as_attachment=as_attachment,
                                filename=filename)  # fmt: skip
    response["Accept-Ranges"] = "bytes"
    response["Cache-Control"] = "private, max-age=3600"
    return response


def lesson_media(request, slug, lesson_slug, kind):
    lesson = _lesson_or_404(request, slug, lesson_slug)
    decision = course_access(request.user, lesson.course).lesson(lesson)
    if not decision:
        return refuse(request, decision, course=lesson.course, lesson=lesson)
    field_file = {"video": lesson.video_file, "captions": lesson.captions}.get(kind)
    if field_file is None:
        raise Http404
    return _serve_private_file(request, field_file)


def resource_download(request, slug, pk):
    resource = get_object_or_404(Resource.objects.select_related("lesson__course"), pk=pk, lesson__course__slug=slug)
    _visible_or_404(request, resource.lesson.course)
    decision = course_access(request.user, resource.lesson.course).resource(resource)
    if not decision:
        return refuse(request, decision, course=resource.lesson.course, lesson=resource.lesson)
    if resource.url:
        return redirect(resource.url)
    return _serve_private_file(request, resource.file, as_attachment=True)
