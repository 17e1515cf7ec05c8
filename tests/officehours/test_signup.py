"""Sign-up keeps to the capacity, also when many students click at once; questions and votes keep their rules."""

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.db import connection

from accounts.models import User
from officehours import services
from officehours.models import Question, QuestionVote, Registration, Session
from tests.factories import SessionFactory, StaffFactory, UserFactory


@pytest.mark.django_db
def test_signing_up_twice_gives_one_registration():
    session, user = SessionFactory(), UserFactory()
    first = services.sign_up(user=user, session=session)
    again = services.sign_up(user=user, session=session)
    assert first == again
    assert Registration.objects.filter(session=session).count() == 1


@pytest.mark.django_db
def test_a_full_session_refuses_with_a_message_and_changes_nothing():
    session = SessionFactory(capacity=2)
    for _ in range(2):
        services.sign_up(user=UserFactory(), session=session)
    late = UserFactory()
    with pytest.raises(services.OfficeHoursError) as error:
        services.sign_up(user=late, session=session)
    assert error.value.message == services.SESSION_FULL
    assert Registration.objects.filter(session=session).count() == 2
    assert not Registration.objects.filter(user=late).exists()


@pytest.mark.django_db
def test_someone_already_signed_up_to_a_full_session_keeps_the_seat():
    session = SessionFactory(capacity=1)
    user = UserFactory()
    services.sign_up(user=user, session=session)
    assert services.sign_up(user=user, session=session).user == user


@pytest.mark.django_db
def test_cancelling_frees_the_seat():
    session = SessionFactory(capacity=1)
    first, second = UserFactory(), UserFactory()
    services.sign_up(user=first, session=session)
    assert services.cancel_sign_up(user=first, session=session) is True
    assert services.cancel_sign_up(user=first, session=session) is False
    services.sign_up(user=second, session=session)
    assert list(Registration.objects.values_list("user", flat=True)) == [second.pk]


@pytest.mark.django_db
def test_no_sign_up_for_a_cancelled_or_finished_session():
    cancelled = SessionFactory(status=Session.Status.CANCELLED)
    over = SessionFactory(starts_in=-timedelta(hours=2))
    for session, message in ((cancelled, services.SESSION_CANCELLED), (over, services.SESSION_OVER)):
        with pytest.raises(services.OfficeHoursError) as error:
            services.sign_up(user=UserFactory(), session=session)
        assert error.value.message == message
    assert not Registration.objects.exists()


@pytest.mark.django_db
def test_questions_need_text_and_an_open_session():
    session, user = SessionFactory(), UserFactory()
    with pytest.raises(services.OfficeHoursError, match="Write your question"):
        services.ask_question(user=user, session=session, text="   ")
    question = services.ask_question(user=user, session=session, text="  How do I debug ICE?  ")
    assert question.text == "How do I debug ICE?"
    with pytest.raises(services.OfficeHoursError):
        services.ask_question(user=user, session=SessionFactory(starts_in=-timedelta(hours=3)), text="Late")


@pytest.mark.django_db
def test_voting_twice_changes_nothing():
    session = SessionFactory()
    question = services.ask_question(user=UserFactory(), session=session, text="Why TURN?")
    voter = UserFactory()
    assert services.vote(user=voter, question=question) == services.vote(user=voter, question=question)
    assert QuestionVote.objects.filter(question=question).count() == 1


@pytest.mark.django_db
def test_no_votes_once_the_session_is_over():
    session = SessionFactory()
    question = services.ask_question(user=UserFactory(), session=session, text="Why TURN?")
    with pytest.raises(services.OfficeHoursError):
        services.vote(user=UserFactory(), question=question, now=session.ends_at)
    assert not QuestionVote.objects.exists()


@pytest.mark.django_db
def test_only_staff_mark_questions_answered():
    question = services.ask_question(user=UserFactory(), session=SessionFactory(), text="Why SFU?")
    with pytest.raises(services.OfficeHoursError):
        services.mark_answered(user=UserFactory(), question=question)
    assert Question.objects.get().answered_at is None
    services.mark_answered(user=StaffFactory(), question=question)
    assert Question.objects.get().answered_at is not None
    services.mark_answered(user=StaffFactory(), question=question, answered=False)
    assert Question.objects.get().answered_at is None


# --- Concurrency on Postgres: each sign-up on its own connection ---

STUDENTS = 200
CAPACITY = 20
ROUNDS = 3
# Postgres allows 100 connections by default; 40 at a time keep the contention high and leave room for others.
WORKERS = 40


def _sign_up_on_own_connection(user_id, session_id, start):
    start.wait()
    try:
        services.sign_up(user=User(pk=user_id), session=Session(pk=session_id))
        return "ok"
    except services.OfficeHoursError as error:
        return error.message
    finally:
        connection.close()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("round_number", range(1, ROUNDS + 1))
def test_200_simultaneous_sign_ups_fill_exactly_the_capacity(on_postgres, round_number):
    session = SessionFactory(capacity=CAPACITY)
    users = User.objects.bulk_create(User(email=f"r{round_number}-{n}@example.com") for n in range(STUDENTS))
    # The first wave starts together; the rest follow as workers free up, while the lock is still contended.
    start, go = threading.Barrier(WORKERS, timeout=30), threading.Barrier(1)
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        futures = [pool.submit(_sign_up_on_own_connection, user.pk, session.pk, start if n < WORKERS else go)
                   for n, user in enumerate(users)]  # fmt: skip
        results = [future.result() for future in futures]
    assert results.count("ok") == CAPACITY
    assert results.count(services.SESSION_FULL) == STUDENTS - CAPACITY
    assert Registration.objects.filter(session=session).count() == CAPACITY
