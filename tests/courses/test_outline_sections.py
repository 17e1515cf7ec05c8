"""A large course's course home and lesson outline show the section a student needs first; the other sections
are headings with their counts that load their lessons on demand, from small pages that ask the same access
policy. What is cached for every student of a run never carries one student's progress, and a change in the
admin (or a lesson's opening moment passing) shows at once."""

import re
import time as clock
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from courses.models import Lesson, LessonProgress, Section
from courses.outline import OUTLINE_IN_FULL
from tests.factories import (
    CourseFactory,
    EnrollmentFactory,
    LessonFactory,
    ReleaseOverrideFactory,
    RunFactory,
    SectionFactory,
    StaffFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

PER_SECTION = 30
SECTIONS = 4  # 120 lessons: more than OUTLINE_IN_FULL


@pytest.fixture
def big(client):
    """Four sections of 30 lessons; the third section's last lesson opens in a week; a student who is working
    on the second section (its first lesson done, its second started)."""
    assert SECTIONS * PER_SECTION > OUTLINE_IN_FULL
    run = RunFactory()
    sections = [SectionFactory(course=run.course, title=f"Part {n}", order=n) for n in range(1, SECTIONS + 1)]
    lessons = [
        [LessonFactory(section=section, title=f"{section.title} lesson {i}", slug=f"p{n}-l{i}", order=i)
         for i in range(PER_SECTION)]
        for n, section in enumerate(sections, start=1)
    ]  # fmt: skip
    ReleaseOverrideFactory(run=run, lesson=lessons[2][-1], opens_at=timezone.now() + timedelta(days=7))
    student = EnrollmentFactory(run=run).user
    now = timezone.now()
    LessonProgress.objects.create(user=student, lesson=lessons[1][0], completed_at=now, updated_at=now)
    LessonProgress.objects.create(user=student, lesson=lessons[1][1], updated_at=now + timedelta(seconds=1))
    client.force_login(student)
    return run, sections, lessons, student


def home_url(course, **query):
    url = reverse("courses:home", args=[course.slug])
    return url + ("?" + "&".join(f"{key}={value}" for key, value in query.items()) if query else "")


def section_url(course, section):
    return reverse("courses:home_section", args=[course.slug, section.pk])


def outline_url(lesson, section):
    return reverse("courses:lesson_outline_section", args=[lesson.course.slug, lesson.slug, section.pk])


def card(page, section):
    """The course home's card of a section."""
    start = page.index(f'id="section-{section.pk}"')
    return page[start : page.index("</ul></div></li>", page.index(f'id="section-{section.pk}-lessons"'))]


def test_the_course_home_of_a_large_course_shows_the_section_to_continue_and_headings_for_the_others(client, big):
    run, sections, lessons, _ = big
    page = client.get(home_url(run.course)).content.decode()

    assert page.count('class="lesson-row') == PER_SECTION  # the second section's, where the student continues
    assert f'href="{lessons[1][1].get_absolute_url()}">{lessons[1][1].title}</a>' in page
    for section in (sections[0], sections[2], sections[3]):
        heading = card(page, section)
        assert f'<a class="section-toggle" href="?section={section.pk}#section-{section.pk}"' in heading
        assert f'aria-controls="section-{section.pk}-lessons"' in heading
        assert f'data-fragment="{section_url(run.course, section)}"' in heading
        assert f"0 of {PER_SECTION} done (0%) · {PER_SECTION} lessons" in heading
        assert heading.endswith(f'<ul class="list-unstyled mb-0" id="section-{section.pk}-lessons" hidden>')  # empty
    assert f"1 of {PER_SECTION} done (3%) · {PER_SECTION} lessons" in card(page, sections[1])
    assert "js/outline.js" in page


def test_without_script_the_heading_link_opens_the_page_with_that_section_expanded(client, big):
    run, sections, lessons, _ = big
    page = client.get(home_url(run.course, section=sections[3].pk)).content.decode()
    assert page.count('class="lesson-row') == 2 * PER_SECTION
    assert lessons[3][5].title in card(page, sections[3]) and lessons[1][5].title in card(page, sections[1])
    assert lessons[0][5].title not in page
    assert client.get(home_url(run.course, section="x")).status_code == 200  # a stray value expands nothing more


def test_a_sections_lessons_load_with_the_students_ticks_locks_and_dates(client, big):
    run, sections, lessons, student = big
    LessonProgress.objects.create(user=student, lesson=lessons[2][3], completed_at=timezone.now())

    response = client.get(section_url(run.course, sections[2]))

    assert response.status_code == 200
    rows = re.findall(r'<li class="lesson-row.*?</li>', response.content.decode(), re.S)
    assert len(rows) == PER_SECTION
    assert 'class="tick"' in rows[3] and sum('class="tick"' in row for row in rows) == 1
    assert "Coming soon:" in rows[-1] and lessons[2][-1].get_absolute_url() not in rows[-1]
    assert f'href="{lessons[2][0].get_absolute_url()}"' in rows[0]


def test_a_section_loads_for_whoever_may_see_the_course_home_only(big):
    run, sections, _, _ = big
    url = section_url(run.course, sections[0])
    assert Client().get(url).status_code == 302  # to log in
    stranger = Client()
    stranger.force_login(UserFactory())
    assert stranger.get(url).status_code == 403
    staff = Client()
    staff.force_login(StaffFactory())
    assert staff.get(url).status_code == 200
    other = SectionFactory(course=CourseFactory())
    assert staff.get(section_url(run.course, other)).status_code == 404  # another course's section
    run.course.is_published = False
    run.course.save()
    student = Client()
    student.force_login(EnrollmentFactory(run=run).user)
    assert student.get(url).status_code == 404


def test_one_students_ticks_never_show_on_anothers_page(client, big):
    run, sections, lessons, student = big
    other = EnrollmentFactory(run=run).user
    for lesson in lessons[0]:
        LessonProgress.objects.create(user=other, lesson=lesson, completed_at=timezone.now())
    mine = client.get(home_url(run.course, section=sections[0].pk)).content.decode()  # the run's outline is built
    client.force_login(other)
    theirs = client.get(home_url(run.course)).content.decode()
    client.force_login(student)
    mine_again = client.get(section_url(run.course, sections[0])).content.decode()

    assert f"{PER_SECTION} of {PER_SECTION} done (100%)" in card(theirs, sections[0])
    assert 'class="tick"' not in card(mine, sections[0]) and 'class="tick"' not in mine_again
    assert f"0 of {PER_SECTION} done (0%)" in card(mine, sections[0])


def test_the_lesson_page_outline_shows_the_current_section_and_loads_the_others(client, big):
    run, sections, lessons, _ = big
    lesson = lessons[2][4]
    page = client.get(lesson.get_absolute_url()).content.decode()
    outline = page[page.index('id="course-outline"') : page.index("</nav>", page.index('class="outline"'))]

    assert outline.count('class="outline-lesson') == PER_SECTION
    assert f'href="{lesson.get_absolute_url()}" aria-current="page"' in outline
    for section in (sections[0], sections[1], sections[3]):
        assert (
            f'<a class="section-toggle" href="?section={section.pk}#outline-section-{section.pk}" '
            f'aria-controls="outline-section-{section.pk}-lessons"'
        ) in outline
        assert f'data-fragment="{outline_url(lesson, section)}"' in outline
    # Previous and next cross sections, whatever is shown.
    first = client.get(lessons[2][0].get_absolute_url()).content.decode()
    assert re.findall(r'<a href="([^"]+)" rel="prev"', first) == [lessons[1][-1].get_absolute_url()]

    fragment = client.get(outline_url(lesson, sections[1])).content.decode()
    rows = dict(re.findall(r'data-lesson="([a-z0-9-]+)">(.*?)</li>', fragment, re.S))
    assert len(rows) == PER_SECTION
    assert "Completed:" in rows["p2-l0"] and "Completed:" not in rows["p2-l1"]
    assert 'aria-current="page"' not in fragment
    two = client.get(lesson.get_absolute_url() + f"?section={sections[3].pk}").content.decode()
    assert two.count('class="outline-lesson') == 2 * PER_SECTION


def test_the_outline_fragment_asks_the_lesson_policy(big):
    run, sections, lessons, _ = big
    locked = lessons[2][-1]
    student = Client()
    student.force_login(EnrollmentFactory(run=run).user)
    assert student.get(outline_url(locked, sections[0])).status_code == 403  # not open yet
    assert Client().get(outline_url(lessons[0][0], sections[0])).status_code == 302
    stranger = Client()
    stranger.force_login(UserFactory())
    assert stranger.get(outline_url(lessons[0][0], sections[0])).status_code == 403
    assert student.get(outline_url(lessons[0][0], SectionFactory())).status_code == 404


def test_a_small_course_shows_every_section_without_toggles(client, big):
    run, sections, lessons, _ = big
    Lesson.objects.filter(section__in=sections[1:]).delete()
    Section.objects.filter(pk__in=[section.pk for section in sections[2:]]).delete()
    lessons[0][0].save()  # bulk deletes send no signal to the content version: a save does
    page = client.get(home_url(run.course)).content.decode()
    assert page.count('class="lesson-row') == PER_SECTION
    assert "section-toggle" not in page and "js/outline.js" not in page


def test_a_change_in_the_admin_shows_at_once_on_both_pages(client, big):
    run, sections, lessons, _ = big
    lesson = lessons[1][2]
    client.get(home_url(run.course))
    client.get(lesson.get_absolute_url())  # built and cached

    lesson.title, lesson.body = "Renamed in the admin", "A new body."
    lesson.save()
    assert "Renamed in the admin" in client.get(home_url(run.course)).content.decode()
    page = client.get(lesson.get_absolute_url()).content.decode()
    assert "<h1>Renamed in the admin</h1>" in page and "A new body." in page

    ReleaseOverrideFactory(run=run, lesson=lessons[1][3], opens_at=timezone.now() + timedelta(days=3))
    row = re.search(rf'<li class="lesson-row[^>]*>(?:(?!</li>).)*{lessons[1][3].title}.*?</li>',
                    client.get(home_url(run.course)).content.decode(), re.S)  # fmt: skip
    assert "Coming soon:" in row.group(0)


def test_a_lesson_opens_when_its_moment_passes_without_any_change(client, big):
    run, sections, lessons, _ = big
    lesson = lessons[1][3]
    ReleaseOverrideFactory(run=run, lesson=lesson, opens_at=timezone.now() + timedelta(seconds=1))
    assert client.get(lesson.get_absolute_url()).status_code == 403
    before = client.get(home_url(run.course)).content.decode()
    assert f'href="{lesson.get_absolute_url()}"' not in before

    clock.sleep(1.1)

    assert f'href="{lesson.get_absolute_url()}"' in client.get(home_url(run.course)).content.decode()
    assert client.get(lesson.get_absolute_url()).status_code == 200


def test_a_section_moved_to_another_course_leaves_the_old_course_home(client, big):
    run, sections, lessons, _ = big
    assert "Part 4" in client.get(home_url(run.course)).content.decode()  # built and cached

    moved = sections[3]
    moved.course = CourseFactory()
    moved.save()

    assert "Part 4" not in client.get(home_url(run.course)).content.decode()
