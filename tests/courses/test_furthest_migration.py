"""Before the furthest point was kept, the stored position was the furthest known: the data migration starts there."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("courses", "0006_lessonprogress_furthest_position")]
AFTER = [("courses", "0007_fill_furthest_position_from_position")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_existing_progress_starts_with_its_position_as_the_furthest_point():
    apps = migrate(BEFORE)
    try:
        Course, Section, Lesson = (apps.get_model("courses", name) for name in ("Course", "Section", "Lesson"))
        LessonProgress, User = apps.get_model("courses", "LessonProgress"), apps.get_model("accounts", "User")
        course = Course.objects.create(title="Old", slug="old-course")
        section = Section.objects.create(course=course, title="Section")
        lesson = Lesson.objects.create(course=course, section=section, title="Lesson", slug="lesson")
        watched, fresh = (User.objects.create(email=f"{name}@example.com") for name in ("watched", "fresh"))
        LessonProgress.objects.create(user=watched, lesson=lesson, video_position=312.5)
        LessonProgress.objects.create(user=fresh, lesson=lesson)

        apps = migrate(AFTER)

        progress = apps.get_model("courses", "LessonProgress").objects
        assert dict(progress.values_list("user__email", "furthest_position")) == {
            "watched@example.com": 312.5, "fresh@example.com": 0.0,
        }  # fmt: skip
    finally:
        migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
