"""The instructor's dashboard of a run of 2,000 students: its pages join the throughput table, and their queries and
time in-process (the CSV too: it streams, chunked, which the load generator does not read) get a table of their own.

The run is in the small course (35 lessons), started 40 days ago; student n has completed n % 36 lessons (about
35,000 progress rows), with a video position on each, and every tenth student posted in the forum.
"""

import statistics
import time
from dataclasses import dataclass
from datetime import timedelta

STUDENTS = 2_000


@dataclass
class DashboardPage:
    name: str
    path: str
    marker: str
    load: bool = True  # measured under load too (the CSV is not: it is a streamed, chunked response)


def dashboard_pages(*, course_slug, log, students=STUDENTS):
    """Build the run and its class; return the staff user and the dashboard's pages, or None without a dashboard."""
    from django.urls import NoReverseMatch, reverse
    from django.utils import timezone

    try:
        reverse("dashboard:index")
    except NoReverseMatch:
        return None
    from django.contrib.auth.hashers import make_password

    from accounts.models import User
    from courses.models import Course, Lesson, LessonProgress
    from enrollment.models import Enrollment, Run, Tier
    from forum.models import Board, Post, Thread

    log(f"bench: building the dashboard's run ({students} students)")
    now = timezone.now()
    course = Course.objects.get(slug=course_slug)
    lessons = list(Lesson.objects.filter(course=course).in_syllabus_order())
    run = Run.objects.create(course=course, title="Dashboard cohort", slug="bench-dashboard",
                             starts_at=now - timedelta(days=40))  # fmt: skip
    standard = Tier.objects.create(run=run, kind=Tier.Kind.STANDARD, name="Standard", price="200.00", months=2)
    office_hours = Tier.objects.create(run=run, kind=Tier.Kind.OFFICE_HOURS, name="Office hours", price="400.00",
                                       months=4, includes_office_hours=True)  # fmt: skip
    unusable = make_password(None)
    users = User.objects.bulk_create(
        (User(email=f"bench-dash-{n}@example.com", first_name=f"Student{n}", last_name="Bench", password=unusable)
         for n in range(students)), batch_size=1000,
    )  # fmt: skip
    Enrollment.objects.bulk_create(
        (Enrollment(user=user, run=run, tier=office_hours if n % 3 == 0 else standard, enrolled_at=run.starts_at)
         for n, user in enumerate(users)), batch_size=1000,
    )  # fmt: skip
    LessonProgress.objects.bulk_create(
        (LessonProgress(user=user, lesson=lesson, updated_at=now - timedelta(days=(n + k) % 30, hours=k),
                        completed_at=now - timedelta(days=(n + k) % 30), video_position=300.0,
                        furthest_position=60.0 * (k % 9))
         for n, user in enumerate(users) for k, lesson in enumerate(lessons[: n % (len(lessons) + 1)])),
        batch_size=2000,
    )  # fmt: skip
    board = Board.objects.filter(course=course).order_by("order", "id").first()
    if board is not None:
        thread = Thread.objects.create(board=board, course=course, title="Dashboard class thread", author=users[0])
        Post.objects.bulk_create(
            (Post(thread=thread, author=user, body="A question.", body_html="<p>A question.</p>",
                  created_at=now - timedelta(days=n % 20)) for n, user in enumerate(users[::10])),
            batch_size=1000,
        )  # fmt: skip
    staff = User.objects.create_user(email="bench-dashboard-staff@example.com", password=None, is_staff=True)
    from django.db import connection

    if connection.vendor == "postgresql":
        # Fresh statistics, as autovacuum keeps them on a live site: without them the planner guesses from empty
        # tables and the dashboard is measured on plans a real class never gets.
        with connection.cursor() as cursor:
            for model in (User, Enrollment, LessonProgress, Post, Thread):
                cursor.execute(f'ANALYZE "{model._meta.db_table}"')
    slug = run.slug
    return staff, [
        DashboardPage("dashboard: students", reverse("dashboard:students", args=[slug]), "Dashboard cohort"),
        DashboardPage(
            "dashboard: behind, by %",
            reverse("dashboard:students", args=[slug]) + "?show=behind&sort=-percent",
            "match these filters",
        ),  # fmt: skip
        DashboardPage("dashboard: lessons", reverse("dashboard:lessons", args=[slug]), "Funnel"),
        DashboardPage("dashboard: activity", reverse("dashboard:activity", args=[slug]), "Students active per day"),
        DashboardPage(
            "dashboard: student",
            reverse("dashboard:student", args=[slug, users[-1].enrollments.get().pk]),
            f"Student{students - 1}",
        ),  # fmt: skip
        DashboardPage("dashboard: unanswered", reverse("dashboard:unanswered", args=[slug]), "Forum questions"),
        DashboardPage(
            f"dashboard: CSV, {students:,} rows", reverse("dashboard:students_csv", args=[slug]), "Student", False
        ),
    ]


@dataclass
class DashboardCost:
    name: str
    queries: int
    sql_ms: float
    total_ms: float
    size: int


def measure_dashboard(client, pages, repeats=7):
    """Return each page's queries, and the median SQL and total milliseconds of `repeats` requests in-process."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def body(response):
        return b"".join(response.streaming_content) if response.streaming else response.content

    sql_time = [0.0]

    def timed(execute, sql, params, many, context):
        start = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            sql_time[0] += time.perf_counter() - start

    costs = []
    for page in pages:
        body(client.get(page.path))
        with CaptureQueriesContext(connection) as captured:
            response = client.get(page.path)
            content = body(response)
        queries = len(captured)  # now: the next request empties the connection's query log
        if response.status_code != 200 or page.marker.encode() not in content:
            raise RuntimeError(f"{page.path} answered {response.status_code} without {page.marker!r}")
        totals, sql_totals = [], []
        with connection.execute_wrapper(timed):
            for _ in range(repeats):
                sql_time[0] = 0.0
                start = time.perf_counter()
                body(client.get(page.path))
                totals.append(time.perf_counter() - start)
                sql_totals.append(sql_time[0])
        costs.append(DashboardCost(page.name, queries, 1000 * statistics.median(sql_totals),
                                   1000 * statistics.median(totals), len(content)))  # fmt: skip
    return costs


def print_dashboard_table(costs, students=STUDENTS):
    print()
    print(f"Dashboard SQL per page: in-process test client, no HTTP; a run of {students} students, 35 lessons.")
    header = f"{'page':<28} {'queries':>7} {'SQL ms':>7} {'total ms':>8} {'KB':>7}"
    print(header)
    print("-" * len(header))
    for cost in costs:
        print(f"{cost.name:<28} {cost.queries:>7} {cost.sql_ms:>7.1f} {cost.total_ms:>8.1f} {cost.size / 1024:>7.1f}")
    print("SQL ms and total ms: median of 7 requests in this one process, no concurrency, no HTTP.")
