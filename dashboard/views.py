"""The instructor's dashboard: staff only, every page a fixed number of queries whatever the class size."""

import csv
import functools
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from courses.models import Quiz
from enrollment.admin import EXTENDED, ExtendAccessForm
from enrollment.models import Enrollment, Run
from enrollment.services import ExtensionRefused, extend_access
from forum.selectors import threads_of_author, unanswered_threads
from officehours.selectors import change_emails_to, registrations_of, reminders_to, unanswered_questions

from . import charts, selectors

PER_PAGE = 50
NOBODY_CHOSEN = "Tick at least one student to extend."


def staff_only(view):
    """Visitors are sent to log in; anyone who is not staff gets 404, as if the dashboard did not exist."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not request.user.is_staff:
            raise Http404("No such page.")
        return view(request, *args, **kwargs)

    return wrapper


def _run_or_404(slug) -> Run:
    return get_object_or_404(Run.objects.select_related("course"), slug=slug)


def _context(request, run, facts, section, **extra):
    return {"run": run, "course": run.course, "facts": facts, "section": section, **extra}


@staff_only
def index(request):
    runs = (
        Run.objects.select_related("course")
        .annotate(students=Count("enrollments", filter=Q(enrollments__status=Enrollment.Status.ACTIVE)))
        .order_by("-starts_at")
    )
    return render(request, "dashboard/index.html", {"runs": runs})


@staff_only
def students(request, run_slug):
    run = _run_or_404(run_slug)
    facts = selectors.run_facts(run)
    filters = selectors.parse_filters(request.GET, facts=facts)
    page = Paginator(selectors.students(facts, filters), PER_PAGE).get_page(request.GET.get("page"))
    zone = timezone.get_current_timezone()
    rows = [(row, selectors.student_cells(row, facts=facts, zone=zone)) for row in page.object_list]
    query = {"tier": filters.tier or "", "show": filters.show}
    sorted_query = urlencode({**query, "sort": filters.sort_param})
    context = _context(
        request, run, facts, "students",
        filters=filters, page=page, rows=rows,
        columns=[(column, _sort_link(column, filters, query)) for column in selectors.COLUMNS],
        show_choices=selectors.SHOW_CHOICES,
        query=sorted_query,
        csv_url=f"{reverse('dashboard:students_csv', args=[run.slug])}?{sorted_query}",
        form=ExtendAccessForm(),
        behind_below=facts.behind_below,
    )  # fmt: skip
    return render(request, "dashboard/students.html", context)


def _sort_link(column, filters, query):
    """Return the column's sort link (ascending first; a second click reverses) and its aria-sort value."""
    if filters.sort == column.key:
        param = column.key if filters.descending else f"-{column.key}"
        state = "descending" if filters.descending else "ascending"
    else:
        param, state = column.key, ""
    return f"?{urlencode({**query, 'sort': param})}", state


def _inert(cell: str) -> str:
    """Keep a spreadsheet from running a cell as a formula (a student may name themselves "=HYPERLINK(…)")."""
    return f"'{cell}" if cell[:1] in ("=", "+", "-", "@", "\t", "\r") else cell


class _Echo:
    def write(self, value):
        return value


@staff_only
def students_csv(request, run_slug):
    """Stream exactly the rows the table shows for the same filters and sort, all pages of them."""
    run = _run_or_404(run_slug)
    facts = selectors.run_facts(run)
    filters = selectors.parse_filters(request.GET, facts=facts)
    zone = timezone.get_current_timezone()
    writer = csv.writer(_Echo())
    header = [column.label for column in selectors.COLUMNS]
    header = [f"{label} ({zone})" if label in {"Enrolled on", "Access ends", "Last activity"} else label
              for label in header]  # fmt: skip

    def lines():
        yield writer.writerow(header)
        for row in selectors.students(facts, filters).iterator(chunk_size=500):
            yield writer.writerow([_inert(cell) for cell in selectors.student_cells(row, facts=facts, zone=zone)])

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    suffix = f"-{filters.show}" if filters.show else ""
    response["Content-Disposition"] = f'attachment; filename="{run.slug}-students{suffix}.csv"'
    return response


@staff_only
@require_POST
def extend(request, run_slug):
    """Extend the ticked students' access through the service the admin action uses, with its messages."""
    run = _run_or_404(run_slug)
    back = request.POST.get("next", "")
    if not back.startswith(reverse("dashboard:students", args=[run.slug])) or not url_has_allowed_host_and_scheme(
        back, allowed_hosts={request.get_host()}
    ):
        back = reverse("dashboard:students", args=[run.slug])
    ids = [value for value in request.POST.getlist("enrollment") if value.isdigit()]
    chosen = list(Enrollment.objects.filter(run=run, pk__in=ids).select_related("user", "run", "tier"))
    form = ExtendAccessForm(request.POST)
    if not chosen:
        messages.error(request, NOBODY_CHOSEN)
    elif not form.is_valid():
        for error in form.errors.get("until", []):
            messages.error(request, f"Access until: {error}")
    else:
        try:
            extensions = extend_access(enrollments=chosen, until=form.cleaned_data["until"])
        except ExtensionRefused as refusal:
            messages.error(request, refusal.message)
        else:
            date = f"{form.cleaned_data['until']:%d %B %Y}"
            messages.success(request, EXTENDED.format(date=date, count=len(extensions)))
    return redirect(back)


@staff_only
def lessons(request, run_slug):
    run = _run_or_404(run_slug)
    facts = selectors.run_facts(run)
    stats = selectors.lesson_stats(facts)
    funnel_rows, funnel_height = charts.funnel(stats)
    videos = [(item, charts.drop_off_path(item.reached, students=item.opened)) for item in stats if item.has_video]
    context = _context(
        request, run, facts, "lessons",
        stats=stats, funnel_rows=funnel_rows, funnel_height=funnel_height, videos=videos,
        students=stats[0].students if stats else selectors.student_count(facts),
    )  # fmt: skip
    return render(request, "dashboard/lessons.html", context)


@staff_only
def quizzes(request, run_slug):
    run = _run_or_404(run_slug)
    facts = selectors.run_facts(run)
    context = _context(request, run, facts, "quizzes", summaries=selectors.quiz_summaries(facts))
    return render(request, "dashboard/quizzes.html", context)


@staff_only
def quiz(request, run_slug, quiz_id):
    """Per question of a quiz: how many of the run's students got it wrong in their latest attempt."""
    run = _run_or_404(run_slug)
    found = get_object_or_404(Quiz.objects.select_related("section"), pk=quiz_id, section__course_id=run.course_id)
    facts = selectors.run_facts(run)
    missed = selectors.missed_questions(facts, found)
    attempted = max((item.answered for item in missed), default=0)
    context = _context(request, run, facts, "quizzes", quiz=found, missed=missed, attempted=attempted)
    return render(request, "dashboard/quiz.html", context)


@staff_only
def activity(request, run_slug):
    run = _run_or_404(run_slug)
    facts = selectors.run_facts(run)
    days = selectors.activity(facts)
    bars, top = charts.day_bars(days)
    context = _context(
        request, run, facts, "activity", days=days, bars=bars, top=top, site_zone=selectors.site_zone(),
        first_day=days[0].day, last_day=days[-1].day, busiest=max(days, key=lambda d: d.students),
    )  # fmt: skip
    return render(request, "dashboard/activity.html", context)


@staff_only
def unanswered(request, run_slug):
    run = _run_or_404(run_slug)
    context = _context(
        request, run, None, "unanswered",
        threads=unanswered_threads(course=run.course), questions=unanswered_questions(run=run),
    )  # fmt: skip
    return render(request, "dashboard/unanswered.html", context)


@staff_only
def student(request, run_slug, pk):
    run = _run_or_404(run_slug)
    enrollment = get_object_or_404(Enrollment.objects.select_related("user", "tier", "run"), run=run, pk=pk)
    facts = selectors.run_facts(run)
    user = enrollment.user
    extensions = list(enrollment.extensions.all())
    change_emails = change_emails_to(run=run, user=user)
    reminders = reminders_to(run=run, user=user)
    context = _context(
        request, run, facts, "students",
        enrollment=enrollment, student=user,
        lessons=selectors.student_lessons(facts, user=user),
        quiz_scores=selectors.student_quiz_scores(facts, user=user),
        threads=threads_of_author(course=run.course, user=user),
        registrations=registrations_of(run=run, user=user),
        emails=selectors.emails_to(enrollment, extensions=extensions, change_emails=change_emails, reminders=reminders),
        extensions=extensions,
        form=ExtendAccessForm(),
        next=request.get_full_path(),
    )  # fmt: skip
    return render(request, "dashboard/student.html", context)
