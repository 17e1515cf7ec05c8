from django.db import migrations

DEFAULT_BOARDS = [
    ("questions", "Questions", "Ask about anything in the course."),
    ("issues", "Issues", "Something broken or unclear in a lesson? Tell us here."),
    ("feedback", "Feedback", "What works, what doesn't, what you'd like to see."),
]


def add_boards(apps, schema_editor):
    Course = apps.get_model("courses", "Course")
    Board = apps.get_model("forum", "Board")
    for course in Course.objects.all():
        if not Board.objects.filter(course=course).exists():
            Board.objects.bulk_create(
                Board(course=course, slug=slug, title=title, description=text, order=position)
                for position, (slug, title, text) in enumerate(DEFAULT_BOARDS)
            )


class Migration(migrations.Migration):
    dependencies = [("forum", "0001_boards_threads_posts"), ("courses", "0001_initial")]
    operations = [migrations.RunPython(add_boards, migrations.RunPython.noop)]
