"""The forum tests' scene: a course forum with its people."""

from datetime import timedelta

from django.utils import timezone

from forum.services import create_default_boards
from tests.factories import CourseFactory, EnrollmentFactory, RunFactory, StaffFactory, TierFactory, UserFactory


class Forum:
    """A course with its boards, an instructor, three current students, an expired one and an outsider."""

    def __init__(self):
        self.course = CourseFactory(title="WebRTC in practice")
        self.board = create_default_boards(course=self.course)[0]
        self.run = run = RunFactory(course=self.course)
        TierFactory(run=run)
        self.staff = StaffFactory(email="teacher@example.com", first_name="Ada", last_name="Teacher")
        self.alice = self.student("alice@example.com", "Alice", "Smith", run)
        self.bob = self.student("bob@example.com", "Bob", "Jones", run)
        self.carol = self.student("carol@example.com", "Carol", "White", run)
        old_run = RunFactory(course=self.course, starts_at=timezone.now() - timedelta(days=400))
        TierFactory(run=old_run)
        self.expired = self.student("expired@example.com", "Ed", "Expired", old_run)
        self.outsider = UserFactory(email="outsider@example.com", first_name="Olga", last_name="Out")
        EnrollmentFactory(user=self.outsider, run=RunFactory())

    @staticmethod
    def student(email, first, last, run):
        user = UserFactory(email=email, first_name=first, last_name=last)
        EnrollmentFactory(user=user, run=run)
        return user
