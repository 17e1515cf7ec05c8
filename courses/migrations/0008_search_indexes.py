"""Full-text search on Postgres (SQLite searches with a plain match, so this does nothing there).

GIN expression indexes on the vectors courses.search matches with: lessons' title and text, lessons'
transcripts, reading items' title and note, Q&A entries' question and answer. The expressions are written
out here as courses.search builds them (a migration must not change when the module does); the tests check
with EXPLAIN that the searches use them. Not in Django's model state: SQLite has no GIN.
"""

from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector
from django.db import migrations

CONFIG = "english"


def indexes():
    return [
        (
            "Lesson",
            GinIndex(
                SearchVector("title", config=CONFIG, weight="A") + SearchVector("body", config=CONFIG, weight="B"),
                name="courses_lesson_search_idx",
            ),
        ),
        ("Lesson", GinIndex(SearchVector("transcript", config=CONFIG), name="courses_lesson_transcript_idx")),
        ("Resource", GinIndex(SearchVector("title", "note", config=CONFIG), name="courses_resource_search_idx")),
        ("FAQEntry", GinIndex(SearchVector("question", "answer", config=CONFIG), name="courses_faqentry_search_idx")),
    ]


def add_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for model, index in indexes():
        schema_editor.add_index(apps.get_model("courses", model), index)


def remove_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for model, index in indexes():
        schema_editor.remove_index(apps.get_model("courses", model), index)


class Migration(migrations.Migration):
    dependencies = [("courses", "0007_fill_furthest_position_from_position")]

    operations = [migrations.RunPython(add_indexes, remove_indexes, elidable=False)]
