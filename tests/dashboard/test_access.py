"""Every dashboard URL, found through the URL resolver, is staff's only: a visitor is sent to log in, a student
(of the run, even) and any other user get 404 and nothing changes; staff get the page."""

import re
from datetime import timedelta

import pytest
from django.urls import URLResolver, get_resolver, reverse
from django.utils import timezone

from enrollment.models import Extension
from tests.factories import EnrollmentFactory, QuizFactory, UserFactory

pytestmark = pytest.mark.django_db

PARAMETER = re.compile(r"<(?:\w+:)?(\w+)>")


def dashboard_urls():
    found = []

    def walk(patterns, namespace):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, pattern.namespace or namespace)
            elif namespace == "dashboard" and pattern.name:
                found.append((f"dashboard:{pattern.name}", PARAMETER.findall(str(pattern.pattern))))

    walk(get_resolver().url_patterns, None)
    return found


DASHBOARD_URLS = dashboard_urls()
POST_ONLY = {"dashboard:extend"}


def test_the_resolver_finds_every_dashboard_page():
    names = {name for name, _ in DASHBOARD_URLS}
    assert names == {
        "dashboard:index", "dashboard:students", "dashboard:students_csv", "dashboard:extend", "dashboard:student",
        "dashboard:lessons", "dashboard:activity", "dashboard:unanswered", "dashboard:quizzes", "dashboard:quiz",
    }  # fmt: skip


def url_for(name, parameters, klass):
    values = {"run_slug": klass.run.slug, "pk": klass.students["ada"].pk}
    if "quiz_id" in parameters:
        values["quiz_id"] = QuizFactory(section=klass.lessons[0].section).pk
    return reverse(name, kwargs={parameter: values[parameter] for parameter in parameters})


def request(client, name, url, klass):
    if name in POST_ONLY:
        until = (timezone.localdate() + timedelta(days=400)).isoformat()
        return client.post(url, {"enrollment": [klass.students["ada"].pk], "until": until})
    return client.get(url)


@pytest.mark.parametrize(("name", "parameters"), DASHBOARD_URLS)
@pytest.mark.parametrize("who", ["visitor", "student", "other_user", "staff"])
def test_every_dashboard_url_is_for_staff_only(client, klass, name, parameters, who):
    url = url_for(name, parameters, klass)
    if who == "student":
        client.force_login(klass.students["ada"].user)
    elif who == "other_user":
        client.force_login(UserFactory())
    elif who == "staff":
        client.force_login(klass.staff)

    response = request(client, name, url, klass)

    if who == "visitor":
        assert response.status_code == 302 and response.url.startswith(reverse("account_login"))
    elif who in {"student", "other_user"}:
        assert response.status_code == 404
        assert b"ada@example.com" not in response.content
    elif name in POST_ONLY:
        assert response.status_code == 302
    else:
        assert response.status_code == 200
    assert Extension.objects.exists() == (who == "staff" and name in POST_ONLY)


def test_unknown_run_or_student_of_another_run_is_404(client, klass):
    client.force_login(klass.staff)
    assert client.get(reverse("dashboard:students", args=["no-such-run"])).status_code == 404
    stranger = EnrollmentFactory()
    assert client.get(reverse("dashboard:student", args=[klass.run.slug, stranger.pk])).status_code == 404


def test_get_on_extend_changes_nothing(client, klass):
    client.force_login(klass.staff)
    assert client.get(reverse("dashboard:extend", args=[klass.run.slug])).status_code == 405
    assert not Extension.objects.exists()
