import pytest

from tests.forum.helpers import Forum


@pytest.fixture
def forum(db):
    """The course forum of tests/forum/helpers.py (the page and search tests set their own scene)."""
    return Forum()


@pytest.fixture
def post_now(django_capture_on_commit_callbacks):
    """Run a service and the notification task it queues on commit."""

    def run(service, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return service(**kwargs)

    return run
