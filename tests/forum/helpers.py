"""The forum tests' scene (a course forum with its people) and how they read the emails it sends."""

import contextlib
import time
from datetime import timedelta

from django.utils import timezone

from courseweb.celery import app as celery_app
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


SETTLE = 1.0  # seconds to wait after the last expected email, so that a stray extra one would be seen


def header(message, name):
    """A header's value as a reader sees it: long ones arrive folded over lines."""
    return " ".join(str(message[name]).split())


def to(messages):
    return sorted(message["To"] for message in messages)


def wait_for(worker, sink, count, what):
    worker.wait_until(lambda: len(sink.messages) >= count, what)
    time.sleep(SETTLE)
    return list(sink.messages)


@contextlib.contextmanager
def in_process():
    """Run the tasks queued meanwhile in the test (their email goes to the locmem outbox, not the sink)."""
    celery_app.conf.task_always_eager = True
    try:
        yield
    finally:
        celery_app.conf.task_always_eager = False
