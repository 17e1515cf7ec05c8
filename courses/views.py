import functools
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.cache import cache
from django.db import connection
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.templatetags.static import static
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_POST

from enrollment import announcements, certificates
from enrollment.access import (
    CURRENT,
    LOGIN_REQUIRED,
    UPCOMING,
    UpgradeOffer,
    by_rank,
    course_access,
    standing,
    upgrade_offer,
)
from enrollment.models import Enrollment
from enrollment.releases import schedule_for
from enrollment.selectors import enrollments_of, latest_enrollment, offered_run

from .content import built, content_version
from .files import serve_file
from .models import Course, FAQEntry, Lesson, LessonProgress, Quiz, QuizAttempt, Resource
from .outline import OUTLINE_IN_FULL, Outline, Player, outline_for
from .pdf import syllabus_pdf
from .quizzes import best_and_latest, quiz_after, quiz_questions, review
from .selectors import (
    CourseProgress,
    course_by_slug,
    course_outline,
    lesson_of,
    player_for,
    previous_course_visit,
    progress_in_courses,
    syllabus_for,
)
from .services import (
    QuizRefused,
    record_course_visit,
    record_lesson_opened,
    record_video_position,
    set_lesson_completed,
    submit_quiz,
)
from .templatetags.player_tags import section_lessons
from .templatetags.syllabus_tags import section_rows
from .video import content_sources

MARKED_COMPLETE = "Lesson marked complete."
SYLLABUS_PDF_SECONDS = 24 * 3600
MARKED_INCOMPLETE = "Lesson marked as not complete."
QUIZ_NEXT = "Lesson marked complete. That was the last lesson of the section: here is its quiz."
QUIZ_FORM_MISSING = "This form is incomplete: reload the quiz and answer again."
NO_LESSON_LEFT = "Lesson marked complete. You have finished every lesson open to you for now."
NEXT_OPENS = "“{title}” opens on {when}."


def refuse(request, decision, *, course, lesson=None, template="courses/access_denied.html", extra_context=None):
    """Answer a refused request: visitors go to log in; others learn why, never the content."""
    if decision.reason == LOGIN_REQUIRED:
        return redirect_to_login(request.get_full_path())
    context = {"course": course, "lesson": lesson, "decision": decision, **(extra_context or {})}
    return render(request, template, context, status=403)


def course_or_404(request, slug):
    """Return the course at this address if the user may see it at all (unpublished: staff only), else 404."""
    course = course_by_slug(slug)
    if course is None:
        raise Http404("No such course.")
    return _visible_or_404(request, course)


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
                context = {**(extra_context or {}), "access": access}
                return refuse(request, decision, course=course, template=template, extra_context=context)
            return view(request, course, access, *args, **kwargs)

        return wrapper

    return decorator


@dataclass
class MyCourse:
    """One of a student's enrollments on their list of courses: where it stands, progress, the next step."""

    enrollment: Enrollment
    standing: str
    progress: CourseProgress
    upgrade: UpgradeOffer | None = None

    @property
    def course(self):
        return self.enrollment.run.course


def my_courses(*, user, at) -> list[MyCourse]:
    """The user's enrollments in published courses, each with its standing (the access policy's), progress
    and upgrade offer. A fixed number of queries, whatever the number of enrollments and lessons.
    """
    enrollments = [e for e in enrollments_of(user=user) if e.run.course.is_published]
    # A course's progress is the student's in that course; its release dates are those of the run the
    # access policy picks (the best-ranked enrollment), as on the course home: that run's outline (cached).
    picked = {}
    for enrollment in by_rank(enrollments, at=at):
        picked.setdefault(enrollment.run.course_id, enrollment)
    outlines = {
        pk: outline_for(
            e.run.course, run_id=e.run_id, opens_at=schedule_for(e.run).opens_at, version=content_version(pk)
        )
        for pk, e in picked.items()
    }
    progress = progress_in_courses(user=user, at=at, outlines=outlines)
    return [
        MyCourse(
            enrollment=e,
            standing=standing(e, at=at),
            progress=progress[e.run.course_id],
            upgrade=upgrade_offer(e, at=at),
        )
        for e in enrollments
    ]


def home(request):
    """A student's list of courses; staff go to their latest enrollment's course, visitors to the course on offer."""
    if request.user.is_authenticated and not request.user.is_staff:
        now = timezone.now()
        rows = my_courses(user=request.user, at=now)
        context = {
            "now": now,
            "current": [row for row in rows if row.standing == CURRENT],
            "upcoming": sorted(
                (row for row in rows if row.standing == UPCOMING), key=lambda row: row.enrollment.run.starts_at
            ),
            "ended": [row for row in rows if row.standing not in {CURRENT, UPCOMING}],
            "courses": [] if rows else list(Course.objects.visible_to(request.user)),
        }
        return render(request, "courses/my_courses.html", context)
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


def favicon(request):
    """Answer browsers that ask for /favicon.ico with the site's icon (base.html names it too)."""
    response = redirect(static("favicon.svg"), permanent=False)
    response["Cache-Control"] = "public, max-age=86400"
    return response


def healthz(request):
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return HttpResponse("ok", content_type="text/plain")


def landing(request, slug):
    course = course_or_404(request, slug)
    run = offered_run(course=course)
    access = course_access(request.user, course)
    offers = [(tier, access.may_buy(tier)) for tier in run.tiers.all()] if run else []
    buyable = [tier for tier, may_buy in offers if may_buy] if run and run.enrollment_open else []
    context = {
        "course": course,
        "about_html": _landing_about(course, run),
        "run": run,
        "offers": offers,
        "upgrade": access.upgrade(),  # a student of this run pays the difference, not the full price
        "cheapest": min(buyable, key=lambda tier: tier.price, default=None),  # for the phone's enrol bar
        "access": access,
        "now": timezone.now(),
    }
    return render(request, "courses/course_landing.html", context)


def _landing_about(course, run) -> str:
    """The landing page's description, syllabus (with the dates of the run on sale), instructor and questions:
    the same for every visitor in a zone, so built once per content version, run and zone.
    """
    zone = timezone.get_current_timezone_name()
    return built(
        f"landing-about:{course.pk}:{run.pk if run else 0}:{zone}",
        lambda: _render_landing_about(course, run),
        version=content_version(course.pk),
    )


def _render_landing_about(course, run) -> str:
    sections = course_outline(course)
    releases = schedule_for(run)
    for section in sections:
        for lesson in section.lessons:
            lesson.opens_at = releases.opens_at(lesson)  # the dates of the run on sale
    context = {
        "course": course,
        "sections": sections,
        "lesson_count": sum(section.lesson_count for section in sections),
        "video_minutes": sum(section.video_minutes for section in sections),
        "minutes": sum(section.minutes for section in sections),
        "faq_entries": course.faq_entries.all()[:5],
    }
    return mark_safe(render_to_string("courses/_landing_about.html", context))  # noqa: S308 (our template)


def course_picture(request, slug, kind):
    """Serve the course image or instructor photo to whoever may see the course (the landing page is public)."""
    course = course_or_404(request, slug)
    field_file = {"image": course.image, "instructor": course.instructor_photo}.get(kind)
    if field_file is None:
        raise Http404
    response = serve_file(request, field_file)
    if course.is_published and response.status_code == 200:  # not a bucket's link, which works for minutes only
        # The address carries the file's version (Course.picture_url): a new upload gets a new address.
        response["Cache-Control"] = "public, max-age=604800"
    return response


def faq(request, slug):
    course = course_or_404(request, slug)
    entries = FAQEntry.objects.filter(course=course)
    return render(request, "courses/course_faq.html", {"course": course, "entries": entries})


def syllabus_download(request, slug):
    course = course_or_404(request, slug)
    run = offered_run(course=course)
    # Built once per content version (a save in the admin makes a new one), run on sale and viewer's zone.
    key = "syllabus-pdf:" + ":".join(
        map(str, (course.pk, content_version(course.pk), run.pk if run else 0, timezone.get_current_timezone_name()))
    )
    pdf = cache.get(key)
    if pdf is None:
        pdf = syllabus_pdf(course, run=run, opens_at=schedule_for(run).opens_at)  # the dates of the run on sale
        cache.set(key, pdf, SYLLABUS_PDF_SECONDS)
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{course.slug}-syllabus.pdf"'
    return response


def _outline(access) -> Outline:
    """The course's outline for the run whose dates apply to the viewer (the access policy's), built once per
    content version and run."""
    course, run = access.course, access.run
    return outline_for(
        course,
        run_id=run.pk if run else None,
        opens_at=lambda lesson: access.releases.opens_at(lesson),  # read only when the outline is built
        version=content_version(course.pk),
    )


def _expanded(request, outline, *, around) -> set[int] | None:
    """The ids of the sections whose lessons a page shows at once, or None for all of them (a small course).

    A large course shows the section of `around` (the lesson to continue with, or the current one; else the
    first section) and the one asked for with `?section=` (the link a collapsed section's heading is without
    script); static/js/outline.js loads the others' on demand.
    """
    if outline.lesson_count <= OUTLINE_IN_FULL:
        return None
    expanded = {around.section_id} if around is not None else {outline.sections[0].id}
    asked = request.GET.get("section", "")
    if asked.isascii() and asked.isdigit() and len(asked) < 19:
        expanded.add(int(asked))
    return expanded


def course_home(request, slug):
    course = course_or_404(request, slug)
    access = course_access(request.user, course)
    decision = access.course_home()
    if not decision:
        return refuse(request, decision, course=course)
    marks_since = record_course_visit(user=request.user, course=course, now=access.at)
    syllabus = syllabus_for(
        course, user=request.user, at=access.at, opens_at=None, marks_since=marks_since, outline=_outline(access)
    )
    context = {
        "course": course,
        "access": access,
        "syllabus": syllabus,
        "expanded": _expanded(request, syllabus.outline, around=syllabus.continue_lesson),
        "fragment_prefix": reverse("courses:home_section", args=[course.slug, 0]).removesuffix("0/"),
        "forum": access.forum(),
        "office_hours": access.office_hours(),
        "announcements": announcements.for_course_home(access),
        "certificate": certificates.for_course_home(
            access,
            lesson_count=syllabus.lesson_count,
            completed_count=syllabus.completed_lesson_count,
            quizzes_left=syllabus.quizzes_left,
        ),
    }
    return render(request, "courses/course_home.html", context)


def course_home_section(request, slug, section_id):
    """The lessons of one section of the course home, as the page shows them (static/js/outline.js loads a
    collapsed section's here): for whoever may see the course home."""
    course = course_or_404(request, slug)
    access = course_access(request.user, course)
    decision = access.course_home()
    if not decision:
        return refuse(request, decision, course=course)
    outline = _outline(access)
    if outline.section(section_id) is None:
        raise Http404("No such section.")
    marks_since = previous_course_visit(user=request.user, course=course)
    syllabus = syllabus_for(course, user=request.user, at=access.at, opens_at=None, marks_since=marks_since,
                            outline=outline)  # fmt: skip
    item = next(item for item in syllabus.sections if item.section.id == section_id)
    return HttpResponse(section_rows(item, staff=access.is_staff))


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
    """Return the lesson at this address (its course and section loaded) if the user may see its course, else 404."""
    course = course_or_404(request, slug)
    lesson = lesson_of(course, lesson_slug)
    if lesson is None:
        raise Http404("No such lesson.")
    return lesson


def _lesson_content(lesson) -> str:
    """The lesson's transcript, body and reading list, rendered once per content version: the same for everyone
    who may open the lesson."""

    def render_content():
        full = Lesson.objects.get(pk=lesson.pk)  # with the body and transcript lesson_of leaves out
        context = {
            "course": lesson.course,
            "lesson": full,
            "resources": list(full.resources.all()),
            "transcript": full.transcript_lines,
            "embedded": full.embed() is not None,
        }
        return mark_safe(render_to_string("courses/_lesson_content.html", context))  # noqa: S308 - a template's

    return built(
        f"lesson-content:{lesson.pk}", render_content, version=content_version(lesson.course_id), memo_size=256
    )


def linked_moment(request) -> int | None:
    """The second of the video a link points at (`?t=754`, from search results), or None without a valid one."""
    value = request.GET.get("t", "")
    if not (value.isascii() and value.isdigit() and len(value) <= 6):
        return None
    return int(value) if int(value) < 24 * 3600 else None


def _player(request, access, lesson) -> Player:
    """The outline around the lesson, with the lessons this viewer may open by the access policy."""
    return player_for(
        access.course,
        lesson,
        user=request.user,
        at=access.at,
        opens_at=None,
        may_open=access.may_open(),
        outline=_outline(access),
    )


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
    player = _player(request, access, lesson)
    linked = linked_moment(request)
    position = linked if linked is not None else (int(progress.video_position) if progress else 0)
    context = {
        "course": course,
        "lesson": lesson,
        "access": access,
        "progress": progress,
        "lesson_content": _lesson_content(lesson),
        "player": player,
        "previous": player.previous,
        "next": player.next,
        "section_quiz": player.section_quiz,
        "expanded": _expanded(request, player.syllabus.outline, around=player.current),
        "fragment_prefix": reverse("courses:lesson_outline_section", args=[course.slug, lesson.slug, 0]).removesuffix(
            "0/"
        ),
        "embed": lesson.embed(start=position),
        "resume_at": position,
        "linked_at": linked,
    }
    response = render(request, "courses/lesson_detail.html", context)
    media_sources = settings.CONTENT_SECURITY_POLICY["DIRECTIVES"]["media-src"]
    response._csp_replace = content_sources(lesson, context["embed"], media_sources=media_sources)  # its host only
    return response


def lesson_outline_section(request, slug, lesson_slug, section_id):
    """The lessons of one section of the outline beside a lesson (static/js/outline.js loads a collapsed
    section's here): for whoever may open the lesson."""
    lesson = _lesson_or_404(request, slug, lesson_slug)
    access = course_access(request.user, lesson.course)
    decision = access.lesson(lesson)
    if not decision:
        return refuse(request, decision, course=lesson.course, lesson=lesson)
    player = _player(request, access, lesson)
    item = next((item for item in player.syllabus.sections if item.section.id == section_id), None)
    if item is None:
        raise Http404("No such section.")
    return HttpResponse(section_lessons(item, player, staff=request.user.is_staff))


@require_POST
def lesson_complete(request, slug, lesson_slug):
    """Mark the lesson complete (or not); with `continue`, complete it and open the next lesson the student may.

    Posting twice gives the same answer: completing is idempotent and the next lesson follows from the state.
    """
    lesson = _lesson_or_404(request, slug, lesson_slug)  # first: an unpublished course is 404 to visitors too
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    access = course_access(request.user, lesson.course)
    decision = access.lesson(lesson)
    if not decision:
        return refuse(request, decision, course=lesson.course, lesson=lesson)
    go_on = request.POST.get("continue") == "1"
    completed = go_on or request.POST.get("completed") == "1"
    set_lesson_completed(user=request.user, lesson=lesson, completed=completed)
    # The section's last lesson done: on to its quiz, if the student has not passed it yet.
    quiz = quiz_after(lesson, user=request.user) if completed else None
    if quiz is not None:
        messages.success(request, QUIZ_NEXT)
        return redirect("courses:quiz", lesson.course.slug, lesson.section_id)
    if not go_on:
        messages.success(request, MARKED_COMPLETE if completed else MARKED_INCOMPLETE)
        return redirect(lesson)
    player = _player(request, access, lesson)
    if player.next is not None:
        messages.success(request, MARKED_COMPLETE)
        return redirect(player.next.url)
    message = NO_LESSON_LEFT
    if player.next_locked is not None:
        when = date_format(timezone.localtime(player.next_locked.opens_at), "j F Y, H:i")
        message += " " + NEXT_OPENS.format(title=player.next_locked.title, when=when)
    messages.success(request, message)
    if not access.course_home():  # a free preview's reader without a seat
        return redirect(lesson.course)
    return redirect("courses:home", lesson.course.slug)


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
    duration = None
    if "duration" in request.POST:  # the video's length, for the 90 % rule; without it nothing completes
        try:
            duration = float(request.POST["duration"])
        except ValueError:
            return JsonResponse({"error": "duration must be a number."}, status=400)
        if not (0 < duration < 24 * 3600):
            return JsonResponse({"error": "duration is out of range."}, status=400)
    progress = record_video_position(user=request.user, lesson=lesson, seconds=seconds, duration=duration)
    if duration is None:
        return JsonResponse({"saved": seconds})
    return JsonResponse({"saved": seconds, "completed": progress.completed_at is not None})


def lesson_media(request, slug, lesson_slug, kind):
    lesson = _lesson_or_404(request, slug, lesson_slug)
    decision = course_access(request.user, lesson.course).lesson(lesson)
    if not decision:
        return refuse(request, decision, course=lesson.course, lesson=lesson)
    field_file = {"video": lesson.video_file, "captions": lesson.captions}.get(kind)
    if field_file is None:
        raise Http404
    return serve_file(request, field_file)


def resource_download(request, slug, pk):
    resource = get_object_or_404(Resource.objects.select_related("lesson__course"), pk=pk, lesson__course__slug=slug)
    _visible_or_404(request, resource.lesson.course)
    decision = course_access(request.user, resource.lesson.course).resource(resource)
    if not decision:
        return refuse(request, decision, course=resource.lesson.course, lesson=resource.lesson)
    if resource.url:
        return redirect(resource.url)
    return serve_file(request, resource.file, as_attachment=True)


def _quiz_or_404(request, slug, section_id) -> Quiz:
    """Return the quiz of this section of this course; an unpublished one is 404 except to staff (a preview)."""
    course = course_or_404(request, slug)
    quizzes = Quiz.objects.select_related("section")
    if not request.user.is_staff:
        quizzes = quizzes.published()
    quiz = get_object_or_404(quizzes, section_id=section_id, section__course=course)
    quiz.section.course = course
    return quiz


def _quiz_decision(request, quiz):
    access = course_access(request.user, quiz.section.course)
    lessons = Lesson.objects.filter(section_id=quiz.section_id).only(
        "id", "course_id", "section_id", "release_after_days", "release_time"
    )
    return access, access.quiz(list(lessons))


def quiz_detail(request, slug, section_id):
    """The section's quiz: its questions without their answers; a post is scored on the server (see submit_quiz)."""
    quiz = _quiz_or_404(request, slug, section_id)
    course = quiz.section.course
    access, decision = _quiz_decision(request, quiz)
    if not decision:
        return refuse(request, decision, course=course)
    error, ticked, submission = "", set(), uuid.uuid4()  # a new id for each page: a retake is a new attempt
    if request.method == "POST":
        answers = {
            key.removeprefix("question-"): request.POST.getlist(key)
            for key in request.POST
            if key.startswith("question-")
        }
        ticked = {value for values in answers.values() for value in values}
        try:
            submission = uuid.UUID(request.POST.get("submission", ""))
            attempt = submit_quiz(user=request.user, quiz=quiz, submission=submission, answers=answers)
        except ValueError as refusal:  # a QuizRefused, or a form without its id
            error = refusal.message if isinstance(refusal, QuizRefused) else QUIZ_FORM_MISSING
        else:
            return redirect("courses:quiz_result", course.slug, quiz.section_id, attempt.pk)
    best, latest = best_and_latest(user=request.user, quiz=quiz)
    context = {
        "course": course,
        "quiz": quiz,
        "questions": quiz_questions(quiz),
        "submission": submission,
        "error": error,
        "ticked": ticked,
        "best": best,
        "latest": latest,
    }
    return render(request, "courses/quiz_detail.html", context, status=400 if error else 200)


def quiz_result(request, slug, section_id, pk):
    """One of the student's own attempts: the score, and each question with their answer, the answer and why."""
    quiz = _quiz_or_404(request, slug, section_id)
    course = quiz.section.course
    access, decision = _quiz_decision(request, quiz)
    if not decision:
        return refuse(request, decision, course=course)
    attempts = QuizAttempt.objects.filter(quiz=quiz)
    if not request.user.is_staff:  # staff may look at any student's attempt (the dashboard links them)
        attempts = attempts.filter(user=request.user)
    attempt = get_object_or_404(attempts.select_related("user"), pk=pk)
    best, latest = best_and_latest(user=attempt.user, quiz=quiz)
    context = {
        "course": course,
        "quiz": quiz,
        "attempt": attempt,
        "reviewed": review(attempt, quiz_questions(quiz)),
        "best": best,
        "latest": latest,
    }
    return render(request, "courses/quiz_result.html", context)
