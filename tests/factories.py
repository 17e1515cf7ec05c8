from datetime import timedelta

import factory
from django.utils import timezone

from accounts.models import User
from courses.models import Course, Lesson, LessonProgress, Resource, Section
from enrollment.models import Enrollment, Run, Tier

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


class RunFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Run

    course = factory.SubFactory(CourseFactory)
    title = factory.Sequence(lambda n: f"Run {n}")
    slug = factory.Sequence(lambda n: f"run-{n}")
    starts_at = factory.LazyFunction(lambda: timezone.now() - timedelta(days=3))
    enrollment_open = False


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


class FileResourceFactory(ResourceFactory):
    """A reading item that is an uploaded file (pass `file=ContentFile(b"...", name="x.txt")`)."""

    url = ""
    file = factory.django.FileField(filename="reading.txt", data=b"Reading file.")


class FAQEntryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "courses.FAQEntry"

    course = factory.SubFactory(CourseFactory)
    question = factory.Sequence(lambda n: f"Question {n}?")
    answer = "An answer."
    order = factory.Sequence(lambda n: n)
