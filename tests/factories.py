"""factory_boy factories for every app's models: rows for a test's scene, not the business rules.

A factory writes the row it is asked for and nothing else; where a rule matters (a reply bumps its thread,
a sign-up keeps to the capacity), the test goes through the service instead.
"""

import uuid
from datetime import UTC, date, datetime, time, timedelta

import factory
from django.contrib.auth.hashers import make_password
from django.utils import timezone

from accounts.models import User
from courses.markdown import render_markdown
from courses.models import (
    Choice,
    Course,
    CourseVisit,
    FAQEntry,
    Lesson,
    LessonProgress,
    Quiz,
    QuizAttempt,
    Resource,
    Section,
)
from courses.models import Question as QuizQuestion
from dashboard.models import WeeklyPulse
from enrollment.models import (
    Announcement,
    AnnouncementDismissal,
    AnnouncementEmail,
    Certificate,
    CourseEmailOptOut,
    Enrollment,
    Payment,
    ReleaseDigest,
    ReleaseOverride,
    Run,
    SentEmail,
    StripeEvent,
    Tier,
)
from forum.models import Board, ForumSettings, Mention, Post, Subscription, Thread, ThreadRead
from officehours.models import (
    CalendarFeed,
    Question,
    QuestionVote,
    Registration,
    Reminder,
    Session,
    WeeklySlot,
)

PASSWORD = "correct-horse-battery"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    first_name = "Test"
    password = factory.django.Password(PASSWORD)
    timezone = "UTC"


class StaffFactory(UserFactory):
    is_staff = True


class CourseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Course

    title = factory.Sequence(lambda n: f"Course {n}")
    slug = factory.Sequence(lambda n: f"course-{n}")
    description = "A course."
    is_published = True

    class Params:
        # CourseFactory(with_pictures=True): a course image and an instructor photo (real PNGs) and a bio.
        with_pictures = factory.Trait(
            image=factory.django.ImageField(filename="course.png", width=1600, height=900, color="navy"),
            image_alt="Indigo waves over a map of the world",
            instructor_name="Ada Lovelace",
            instructor_photo=factory.django.ImageField(filename="instructor.png", width=400, height=400, color="teal"),
            instructor_bio="Ada has taught real-time media for ten years.",
        )


class SectionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Section

    course = factory.SubFactory(CourseFactory)
    title = factory.Sequence(lambda n: f"Section {n}")
    order = factory.Sequence(lambda n: n)


class LessonFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Lesson

    section = factory.SubFactory(SectionFactory)
    title = factory.Sequence(lambda n: f"Lesson {n}")
    slug = factory.Sequence(lambda n: f"lesson-{n}")
    order = factory.Sequence(lambda n: n)
    body = "Lesson body text."


class ResourceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Resource

    lesson = factory.SubFactory(LessonFactory)
    title = factory.Sequence(lambda n: f"Reading {n}")
    url = "https://example.org/reading"


class LessonProgressFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LessonProgress

    user = factory.SubFactory(UserFactory)
    lesson = factory.SubFactory(LessonFactory)


class CourseVisitFactory(factory.django.DjangoModelFactory):
    """A user's last view of a course home (an hour ago), the visit before a day earlier."""

    class Meta:
        model = CourseVisit

    user = factory.SubFactory(UserFactory)
    course = factory.SubFactory(CourseFactory)
    last_seen_at = factory.LazyFunction(lambda: timezone.now() - timedelta(hours=1))
    previous_visit_at = factory.LazyAttribute(lambda visit: visit.last_seen_at - timedelta(days=1))


class QuizFactory(factory.django.DjangoModelFactory):
    """A section's quiz, published (the model's default is unpublished); add questions with QuizQuestionFactory."""

    class Meta:
        model = Quiz

    section = factory.SubFactory(SectionFactory)
    title = factory.Sequence(lambda n: f"Quiz {n}")
    pass_percent = 70
    is_published = True


class QuizQuestionFactory(factory.django.DjangoModelFactory):
    """A question; pass `choices=[("text", True), ("other", False)]` to give it choices (True: correct)."""

    class Meta:
        model = QuizQuestion
        skip_postgeneration_save = True

    quiz = factory.SubFactory(QuizFactory)
    text = factory.Sequence(lambda n: f"Question {n}?")
    explanation = "Because."
    order = factory.Sequence(lambda n: n)

    @factory.post_generation
    def choices(question, create, extracted, **kwargs):
        for order, (text, correct) in enumerate(extracted or []):
            Choice.objects.create(question=question, text=text, is_correct=correct, order=order)


class ChoiceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Choice

    question = factory.SubFactory(QuizQuestionFactory)
    text = factory.Sequence(lambda n: f"Choice {n}")
    is_correct = False
    order = factory.Sequence(lambda n: n)


class QuizAttemptFactory(factory.django.DjangoModelFactory):
    """A recorded attempt as given (no scoring: that is courses.services.submit_quiz's)."""

    class Meta:
        model = QuizAttempt

    user = factory.SubFactory(UserFactory)
    quiz = factory.SubFactory(QuizFactory)
    submission = factory.LazyFunction(uuid.uuid4)
    correct_count = 1
    question_count = 1
    score_percent = factory.LazyAttribute(lambda a: round(100 * a.correct_count / a.question_count))
    passed = factory.LazyAttribute(lambda a: 100 * a.correct_count >= a.quiz.pass_percent * a.question_count)


class RunFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Run

    course = factory.SubFactory(CourseFactory)
    title = factory.Sequence(lambda n: f"Run {n}")
    slug = factory.Sequence(lambda n: f"run-{n}")
    starts_at = factory.LazyFunction(lambda: timezone.now() - timedelta(days=3))
    enrollment_open = False


class ReleaseOverrideFactory(factory.django.DjangoModelFactory):
    """A run's own opening date for a lesson of its course."""

    class Meta:
        model = ReleaseOverride

    run = factory.SubFactory(RunFactory)
    lesson = factory.SubFactory(LessonFactory, section__course=factory.SelfAttribute("...run.course"))
    opens_at = factory.LazyAttribute(lambda override: override.run.starts_at + timedelta(days=7))


class TierFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tier

    run = factory.SubFactory(RunFactory)
    kind = Tier.Kind.STANDARD
    name = "Standard"
    price = "200.00"
    currency = "USD"
    months = 2


class OfficeHoursTierFactory(TierFactory):
    kind = Tier.Kind.OFFICE_HOURS
    name = "With office hours"
    price = "400.00"
    months = 4
    includes_office_hours = True


class EnrollmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Enrollment

    user = factory.SubFactory(UserFactory)
    run = factory.SubFactory(RunFactory)
    tier = factory.LazyAttribute(lambda o: Tier.objects.filter(run=o.run).first() or TierFactory(run=o.run))
    source = Enrollment.Source.ADMIN


def enrolled_students(count, *, run, tier) -> list[User]:
    """Create `count` students enrolled in the run, in a few zones, without passwords: fast (bulk_create) for many."""
    prefix = uuid.uuid4().hex[:8]
    zones = ["UTC", "Europe/Berlin", "America/Los_Angeles", "Asia/Tokyo"]
    users = User.objects.bulk_create(
        User(email=f"s{prefix}-{n}@example.com", password=make_password(None), timezone=zones[n % len(zones)])
        for n in range(count)
    )
    Enrollment.objects.bulk_create(Enrollment(user=user, run=run, tier=tier) for user in users)
    return users


class FileResourceFactory(ResourceFactory):
    """A reading item that is an uploaded file (pass `file=ContentFile(b"...", name="x.txt")`)."""

    url = ""
    file = factory.django.FileField(filename="reading.txt", data=b"Reading file.")


class FAQEntryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FAQEntry

    course = factory.SubFactory(CourseFactory)
    question = factory.Sequence(lambda n: f"Question {n}?")
    answer = "An answer."
    order = factory.Sequence(lambda n: n)


# --- enrollment ---


class PaymentFactory(factory.django.DjangoModelFactory):
    """A paid Checkout Session of a seat (amount in cents, as Stripe sends it)."""

    class Meta:
        model = Payment

    enrollment = factory.SubFactory(EnrollmentFactory, source=Enrollment.Source.STRIPE)
    reference = factory.Sequence(lambda n: f"pi_test_{n}")
    checkout_session_id = factory.Sequence(lambda n: f"cs_test_{n}")
    email = factory.LazyAttribute(lambda o: o.enrollment.user.email if o.enrollment else "buyer@example.com")
    amount_total = 20000
    currency = "usd"
    paid_at = factory.LazyFunction(timezone.now)


class StripeEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StripeEvent

    event_id = factory.Sequence(lambda n: f"evt_test_{n}")
    type = "checkout.session.completed"


class SentEmailFactory(factory.django.DjangoModelFactory):
    """A queued email of a kind to an enrollment (`status=SentEmail.Status.SENT` for one already gone)."""

    class Meta:
        model = SentEmail

    enrollment = factory.SubFactory(EnrollmentFactory)
    kind = SentEmail.Kind.PRELAUNCH


class CertificateFactory(factory.django.DjangoModelFactory):
    """An issued certificate of an enrolled student (the factory checks no completion: issue() does)."""

    class Meta:
        model = Certificate

    run = factory.SubFactory(RunFactory)
    course = factory.SelfAttribute("run.course")
    user = factory.LazyAttribute(lambda o: EnrollmentFactory(run=o.run).user)
    name = "Zoë Łukasiewicz"
    completed_at = factory.LazyFunction(lambda: timezone.now() - timedelta(days=1))


class AnnouncementFactory(factory.django.DjangoModelFactory):
    """A draft announcement to a run (publish it with enrollment.announcements.publish, or pass published_at)."""

    class Meta:
        model = Announcement

    run = factory.SubFactory(RunFactory)
    title = factory.Sequence(lambda n: f"Announcement {n}")
    body = "Office hours move to **Thursday** this week."


class AnnouncementDismissalFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AnnouncementDismissal

    announcement = factory.SubFactory(AnnouncementFactory, published_at=factory.LazyFunction(timezone.now))
    user = factory.SubFactory(UserFactory)


class AnnouncementEmailFactory(factory.django.DjangoModelFactory):
    """A queued announcement email to an enrollment of the announcement's run."""

    class Meta:
        model = AnnouncementEmail

    announcement = factory.SubFactory(AnnouncementFactory, published_at=factory.LazyFunction(timezone.now))
    enrollment = factory.SubFactory(EnrollmentFactory, run=factory.SelfAttribute("..announcement.run"))


class CourseEmailOptOutFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CourseEmailOptOut

    user = factory.SubFactory(UserFactory)
    kind = CourseEmailOptOut.Kind.ANNOUNCEMENTS


class ReleaseDigestFactory(factory.django.DjangoModelFactory):
    """A queued release digest of today listing one lesson of the enrollment's course that opened yesterday."""

    class Meta:
        model = ReleaseDigest

    enrollment = factory.SubFactory(EnrollmentFactory)
    day = factory.LazyFunction(lambda: timezone.now().date())
    covers_from = factory.LazyFunction(lambda: timezone.now() - timedelta(days=2))
    covers_until = factory.LazyFunction(timezone.now)
    opened = factory.LazyAttribute(
        lambda digest: [LessonFactory(section__course=digest.enrollment.run.course, release_after_days=1).pk]
    )


# --- forum ---


class BoardFactory(factory.django.DjangoModelFactory):
    """A board; every course already has the default ones (questions, issues, feedback), found by their slug."""

    class Meta:
        model = Board
        django_get_or_create = ("course", "slug")

    course = factory.SubFactory(CourseFactory)
    title = factory.Sequence(lambda n: f"Board {n}")
    slug = factory.Sequence(lambda n: f"board-{n}")
    order = factory.Sequence(lambda n: 10 + n)


class PostFactory(factory.django.DjangoModelFactory):
    """A post with its rendered HTML; by itself a reply in a new thread (the thread's counters are not bumped)."""

    class Meta:
        model = Post

    thread = factory.SubFactory("tests.factories.ThreadFactory")
    author = factory.SubFactory(UserFactory)
    body = factory.Sequence(lambda n: f"Post body {n}.")
    body_html = factory.LazyAttribute(lambda o: render_markdown(o.body))
    author_is_staff = factory.LazyAttribute(lambda o: bool(o.author and o.author.is_staff))
    # A factory post is one whose notifications went out (forum.notifications.notify_left_over leaves it alone).
    notified_at = factory.LazyFunction(timezone.now)


class ThreadFactory(factory.django.DjangoModelFactory):
    """A thread and its first post (`first_post__body=...`), on `board` or on the Questions board of `course`."""

    class Meta:
        model = Thread
        skip_postgeneration_save = True

    class Params:
        course = None

    board = factory.LazyAttribute(lambda o: BoardFactory(course=o.course or CourseFactory(), slug="questions"))
    title = factory.Sequence(lambda n: f"Thread {n}")
    author = factory.SubFactory(UserFactory)
    first_post = factory.RelatedFactory(
        PostFactory, factory_related_name="thread", author=factory.SelfAttribute("thread.author"),
        created_at=factory.SelfAttribute("thread.created_at"),
    )  # fmt: skip


class SubscriptionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Subscription

    user = factory.SubFactory(UserFactory)
    thread = factory.SubFactory(ThreadFactory)


class ThreadReadFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ThreadRead

    user = factory.SubFactory(UserFactory)
    thread = factory.SubFactory(ThreadFactory)
    last_read_at = factory.LazyFunction(timezone.now)


class ForumSettingsFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ForumSettings
        django_get_or_create = ("user",)

    user = factory.SubFactory(UserFactory)
    email_mode = ForumSettings.EmailMode.EACH


class MentionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Mention

    post = factory.SubFactory(PostFactory)
    user = factory.SubFactory(UserFactory)


# --- office hours ---


class WeeklySlotFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WeeklySlot

    run = factory.SubFactory(RunFactory)
    weekday = WeeklySlot.Weekday.THURSDAY
    local_time = time(18, 0)
    timezone = "UTC"
    meeting_url = factory.Sequence(lambda n: f"https://meet.example.org/slot-{n}")


class SessionFactory(factory.django.DjangoModelFactory):
    """One office-hours session, by default two days from now (`starts_in=` or `starts_at=` to move it).

    Each session has its own meeting link, so a test can tell which one a page shows.
    """

    class Meta:
        model = Session

    class Params:
        starts_in = timedelta(days=2)

    run = factory.SubFactory(RunFactory)
    # Whole seconds: calendars and the countdown carry no microseconds.
    starts_at = factory.LazyAttribute(lambda o: (timezone.now() + o.starts_in).replace(microsecond=0))
    duration_minutes = 60
    meeting_url = factory.Sequence(lambda n: f"https://meet.example.org/room-{n}")


class RegistrationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Registration

    session = factory.SubFactory(SessionFactory)
    user = factory.SubFactory(UserFactory)


class ReminderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Reminder

    registration = factory.SubFactory(RegistrationFactory)
    kind = Reminder.Kind.DAY_BEFORE


class QuestionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Question

    session = factory.SubFactory(SessionFactory)
    author = factory.SubFactory(UserFactory)
    text = factory.Sequence(lambda n: f"Question {n} for the session?")


class QuestionVoteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = QuestionVote

    question = factory.SubFactory(QuestionFactory)
    user = factory.SubFactory(UserFactory)


class CalendarFeedFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CalendarFeed
        django_get_or_create = ("user",)

    user = factory.SubFactory(UserFactory)


class WeeklyPulseFactory(factory.django.DjangoModelFactory):
    """A staff member's queued pulse of the week of Monday 30 November 2026 (UTC), covering the week before."""

    class Meta:
        model = WeeklyPulse

    user = factory.SubFactory(StaffFactory)
    week_of = date(2026, 11, 30)
    covers_from = datetime(2026, 11, 23, tzinfo=UTC)
    covers_until = datetime(2026, 11, 30, tzinfo=UTC)
