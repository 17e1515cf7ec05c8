"""The factories build valid rows, so a test's scene is one the app could have written."""

import inspect
from datetime import timedelta

import factory
import pytest

from tests import factories

pytestmark = pytest.mark.django_db


def model_factories():
    for value in vars(factories).values():
        if inspect.isclass(value) and issubclass(value, factory.django.DjangoModelFactory):
            yield value


ALL = sorted(model_factories(), key=lambda cls: cls.__name__)


@pytest.mark.parametrize("factory_class", ALL, ids=lambda cls: cls.__name__)
def test_each_factory_builds_a_row_that_passes_the_models_validation(factory_class):
    row = factory_class()
    row.full_clean()
    assert type(row)._default_manager.filter(pk=row.pk).exists()


def test_a_thread_comes_with_its_first_post_by_its_author_on_the_courses_questions_board():
    thread = factories.ThreadFactory(first_post__body="Why does **ICE** fail?")
    [post] = thread.posts.all()
    assert (post.author, post.body_html) == (thread.author, "<p>Why does <strong>ICE</strong> fail?</p>")
    assert (thread.board.course, thread.board.slug) == (thread.course, "questions")


def test_sessions_have_their_own_meeting_links_and_start_when_asked():
    first, second = factories.SessionFactory(), factories.SessionFactory(starts_in=-timedelta(hours=1))
    assert first.meeting_url != second.meeting_url
    assert second.starts_at < first.starts_at and second.ends_at > second.starts_at
