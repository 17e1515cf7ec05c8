"""Build the demo course: Advanced WebRTC Architecture, a run in its third week, the previous and the next run,
an instructor and three students: what a real run looks like (forum threads, an announcement, a section quiz,
progress, and a certificate of a student of the previous run who finished).

Running it again changes nothing in any app: every object is looked up by its natural key and only
created when missing. Students, enrollments, progress and office-hours sessions are made by the
services that make them for real; course content, runs, tiers and slots (which have none) by the ORM.
The demo users' passwords are printed, so it refuses to run with DEBUG off unless told --force.
"""

from datetime import time, timedelta
from pathlib import Path

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from courses.models import Course, FAQEntry, Lesson, LessonProgress, Resource, Section
from courses.services import set_lesson_completed
from enrollment.models import Enrollment, Run, Tier
from enrollment.services import enroll, get_or_create_student
from officehours.models import Session, WeeklySlot
from officehours.scheduling import generate_sessions

from . import _demo_activity as activity
from ._demo_content import COURSE, FAQ, SECTIONS

DEMO_VIDEO = Path(__file__).resolve().parents[2] / "demo_assets" / "demo-lesson.webm"
COURSE_IMAGE = DEMO_VIDEO.parent / "course-image.jpg"  # drawn by demo_assets/make_pictures.py
COURSE_IMAGE_ALT = "A mesh of peers, some linked through media servers, drawn in indigo and amber"
INSTRUCTOR_PHOTO = DEMO_VIDEO.parent / "instructor.jpg"
VIDEO_NAME = "lessons/videos/demo-lesson.webm"
CAPTIONS_NAME = "lessons/captions/demo-lesson.vtt"
CAPTIONS = """WEBVTT

00:00.000 --> 00:10.000
Welcome to this lesson of Advanced WebRTC Architecture.

00:10.000 --> 00:25.000
We start with the big picture, then go into the details.

00:25.000 --> 00:45.000
Pause whenever you like: the page remembers where you stopped.

00:45.000 --> 01:00.000
Read the material below the video before the next lesson.
"""
TRANSCRIPT = """00:00 Welcome to this lesson of Advanced WebRTC Architecture.
00:10 We start with the big picture, then go into the details.
00:25 Pause whenever you like: the page remembers where you stopped.
00:45 Read the material below the video before the next lesson."""

INSTRUCTOR = ("instructor@example.com", "teach-webrtc-2026", "Ada", "Instructor")
STUDENTS = [
    ("student@example.com", "learn-webrtc-2026", "Sam", "Standard", Tier.Kind.STANDARD),
    ("officehours@example.com", "learn-webrtc-2026", "Olivia", "Office-Hours", Tier.Kind.OFFICE_HOURS),
]


# The current run is in its third week; its "coming soon" lesson opens a week from now, the next run's its own
# 24 days after that run starts. The previous run (standard access still open) has a student who finished.
CURRENT_RUN_STARTED_DAYS_AGO = 17
COMING_SOON_AFTER_DAYS = CURRENT_RUN_STARTED_DAYS_AGO + 7
PREVIOUS_RUN_STARTED_DAYS_AGO = 45
DEBUG_OFF = (
    "DEBUG is off, so this may be a server: the demo users' passwords printed here would let anyone log in, "
    "one of them as staff. Run it with DEBUG=1 (as `make run` does), or pass --force if you mean it."
)


class Command(BaseCommand):
    help = "Create the demo course, runs and users (safe to run again: nothing changes the second time)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--force", action="store_true", help="seed even with DEBUG off (the demo passwords then work there too)"
        )

    def handle(self, *args, force, **options):
        if not settings.DEBUG and not force:
            raise CommandError(DEBUG_OFF)
        now = timezone.now()
        with transaction.atomic():
            course = self._course()
            self._pictures(course)
            current, upcoming = self._runs(course, now)
            previous = self._previous_run(course, now)
            users = self._users(current)
            self._demo_progress(users[0], course, now)
            self._activity(course, current, previous, users, now)
            sessions = self._office_hours(current, now)
            self._office_hours(upcoming, now)  # the landing page offers the next run: its tier card lists these
        self._store_media()
        self.stdout.write(self.style.SUCCESS(f"Demo course ready: {course.title}"))
        self.stdout.write("")
        self.stdout.write("Demo logins (open http://127.0.0.1:8000/accounts/login/):")
        self.stdout.write(f"  instructor (staff, admin at /admin/): {INSTRUCTOR[0]} / {INSTRUCTOR[1]}")
        for email, password, _first, _last, kind in STUDENTS:
            self.stdout.write(f"  student, {Tier.Kind(kind).label.lower()} tier:  {email} / {password}")
        email, password, _first, _last = activity.FINISHED
        self.stdout.write(f"  student of the previous run, finished, with a certificate:  {email} / {password}")
        self.stdout.write(f"  current run: {current.title}; next run (on sale): {upcoming.title}")
        self.stdout.write(f"  office hours: {sessions} upcoming sessions for the office-hours tier")

    def _course(self):
        course, created = Course.objects.get_or_create(slug=COURSE["slug"], defaults={
            **{key: COURSE[key] for key in ("title", "tagline", "description", "instructor_name", "contact_email")},
            "is_published": True,
        })  # fmt: skip
        if not created:
            return course
        for position, entry in enumerate(FAQ):
            FAQEntry.objects.create(course=course, order=position, question=entry[0], answer=entry[1])
        for section_position, spec in enumerate(SECTIONS):
            section = Section.objects.create(
                course=course, order=section_position, title=spec["title"], summary=spec["summary"]
            )
            for lesson_position, lesson_spec in enumerate(spec["lessons"]):
                has_video = lesson_spec.get("video", True)
                lesson = Lesson.objects.create(
                    section=section,
                    order=lesson_position,
                    title=lesson_spec["title"],
                    slug=lesson_spec["slug"],
                    body=lesson_spec["body"],
                    estimated_minutes=lesson_spec.get("minutes", 15),
                    video_minutes=1 if has_video else 0,
                    video_file=VIDEO_NAME if has_video else "",
                    captions=CAPTIONS_NAME if has_video else "",
                    transcript=TRANSCRIPT if has_video else "",
                    is_free_preview=lesson_spec.get("preview", False),
                    release_after_days=COMING_SOON_AFTER_DAYS if lesson_spec.get("coming_soon") else None,
                )
                for resource_position, (title, url, note) in enumerate(lesson_spec.get("reading", [])):
                    Resource.objects.create(lesson=lesson, order=resource_position, title=title, url=url, note=note)
        return course

    def _runs(self, course, now):
        start_of_hour = now.replace(minute=0, second=0, microsecond=0)
        started = start_of_hour - timedelta(days=CURRENT_RUN_STARTED_DAYS_AGO)
        current = self._run(course, "webrtc-current", "Current cohort", started, enrollment_open=False)
        upcoming = self._run(course, "webrtc-next", "Next cohort", start_of_hour + timedelta(days=30),
                             enrollment_open=True)  # fmt: skip
        return current, upcoming

    def _previous_run(self, course, now):
        start_of_hour = now.replace(minute=0, second=0, microsecond=0)
        started = start_of_hour - timedelta(days=PREVIOUS_RUN_STARTED_DAYS_AGO)
        return self._run(course, "webrtc-previous", "Previous cohort", started, enrollment_open=False)

    def _run(self, course, slug, title, starts_at, *, enrollment_open):
        """The demo run with this slug, made with its tiers the first time (left as it is after)."""
        run, created = Run.objects.get_or_create(slug=slug, defaults={
            "course": course, "title": title, "starts_at": starts_at, "enrollment_open": enrollment_open,
        })  # fmt: skip
        if created:
            self._tiers(run)
        return run

    def _activity(self, course, current, previous, students, now):
        """A quiz, progress, forum threads, an announcement and a finished student's certificate (each once)."""
        instructor = User.objects.get(email=INSTRUCTOR[0])
        quiz = activity.build_quiz(course)
        activity.progress(course=course, quiz=quiz, officehours_student=students[1], run=current, now=now)
        finished = activity.finished_student(course=course, quiz=quiz, run=previous, now=now)
        activity.forum_threads(course=course, instructor=instructor, students=[*students, finished], now=now)
        activity.announcement(run=current, instructor=instructor, standard_student=students[0], now=now)

    def _tiers(self, run):
        Tier.objects.create(
            run=run, kind=Tier.Kind.STANDARD, name="Standard", price="240.00", currency="USD", months=2,
            description="All lessons and reading material\nThe course forum",
        )  # fmt: skip
        Tier.objects.create(
            run=run, kind=Tier.Kind.OFFICE_HOURS, name="With office hours", price="480.00", currency="USD", months=4,
            includes_office_hours=True,
            description="Everything in Standard\nAsk the instructor live, at times that suit different time zones",
        )  # fmt: skip

    def _users(self, run):
        email, password, first, last = INSTRUCTOR
        if not User.objects.filter(email=email).exists():
            User.objects.create_superuser(email=email, password=password, first_name=first, last_name=last)
        students = []
        for email, password, first, last, kind in STUDENTS:
            user, created = get_or_create_student(email=email, first_name=first, last_name=last)
            if created:
                user.set_password(password)
                user.save(update_fields=["password"])
            # Enrolled when the run started, before the demo existed: no pre-launch email, now or later.
            enroll(user=user, run=run, tier=run.tiers.get(kind=kind), source=Enrollment.Source.ADMIN,
                   send_email=False, now=run.starts_at)  # fmt: skip
            students.append(user)
        return students

    def _office_hours(self, run, now):
        """Twice a week, at times for different zones (as the announcement promises)."""
        slots = [(0, time(8, 0), "Asia/Jerusalem"), (3, time(18, 0), "America/New_York")]
        for weekday, local_time, zone in slots:
            WeeklySlot.objects.get_or_create(
                run=run, weekday=weekday, local_time=local_time, timezone=zone,
                defaults={"meeting_url": "https://meet.example.com/webrtc-office-hours", "capacity": 25},
            )  # fmt: skip
        generate_sessions(run=run, now=now)
        return Session.objects.filter(run=run, starts_at__gt=now).count()

    def _demo_progress(self, student, course, now):
        """Give the standard student two finished lessons, so the demo shows ticks and progress."""
        if LessonProgress.objects.filter(user=student).exists():
            return
        for offset, lesson in enumerate(Lesson.objects.filter(course=course).in_syllabus_order()[:2]):
            when = now - timedelta(days=2, hours=-offset)
            set_lesson_completed(user=student, lesson=lesson, completed=True, now=when)

    def _pictures(self, course):
        """Give the landing page its course image, instructor photo and bio, each only when missing."""
        changed = []
        for field, asset in (("image", COURSE_IMAGE), ("instructor_photo", INSTRUCTOR_PHOTO)):
            if not getattr(course, field):
                getattr(course, field).save(asset.name, ContentFile(asset.read_bytes()), save=False)
                changed.append(field)
        if not course.image_alt:
            course.image_alt = COURSE_IMAGE_ALT
            changed.append("image_alt")
        if not course.instructor_bio:
            course.instructor_bio = COURSE["instructor_bio"]
            changed.append("instructor_bio")
        if changed:
            course.save()

    def _store_media(self):
        if not default_storage.exists(VIDEO_NAME):
            with DEMO_VIDEO.open("rb") as handle:
                default_storage.save(VIDEO_NAME, handle)
        if not default_storage.exists(CAPTIONS_NAME):
            default_storage.save(CAPTIONS_NAME, ContentFile(CAPTIONS.encode()))
