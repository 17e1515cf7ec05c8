import pytest

from tests.factories import EnrollmentFactory, RunFactory


@pytest.fixture
def log_in_student(db, client):
    """Return a function that enrols a new student (in `run`, or a new run of `course`) and logs them in."""

    def log_in(*, course=None, run=None, **enrollment):
        user = EnrollmentFactory(run=run or RunFactory(course=course), **enrollment).user
        client.force_login(user)
        return user

    return log_in
