"""Full-text search on Postgres (SQLite searches with a plain match, so this does nothing there).

Lessons get two stored, generated tsvector columns with GIN indexes: `search_vector` (title, weight A, and text,
weight B) and `transcript_vector`. Ranking and rechecking then read the stored vectors instead of parsing every
matching text again, which is what keeps a common word fast over thousands of lessons; Postgres keeps them up to
date on every insert and edit. They are not model fields (SQLite has no tsvector), so Django's state does not know
them; courses.search reads them. Reading items and Q&A entries are short: expression indexes, written out here as
courses.search builds its vectors (a migration must not change when the module does), suffice.
"""

from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector
from django.db import migrations

ADD_COLUMNS = """
ALTER TABLE courses_lesson ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (
    setweight(to_tsvector('english'::regconfig, COALESCE(title, '')), 'A')
    || setweight(to_tsvector('english'::regconfig, COALESCE(body, '')), 'B')
) STORED;
ALTER TABLE courses_lesson ADD COLUMN transcript_vector tsvector
    GENERATED ALWAYS AS (to_tsvector('english'::regconfig, COALESCE(transcript, ''))) STORED;
CREATE INDEX courses_lesson_search_idx ON courses_lesson USING gin (search_vector);
CREATE INDEX courses_lesson_transcript_idx ON courses_lesson USING gin (transcript_vector);
"""
DROP_COLUMNS = """
DROP INDEX IF EXISTS courses_lesson_search_idx;
DROP INDEX IF EXISTS courses_lesson_transcript_idx;
ALTER TABLE courses_lesson DROP COLUMN IF EXISTS search_vector;
ALTER TABLE courses_lesson DROP COLUMN IF EXISTS transcript_vector;
"""
CONFIG = "english"


def indexes():
    return [
        ("Resource", GinIndex(SearchVector("title", "note", config=CONFIG), name="courses_resource_search_idx")),
        ("FAQEntry", GinIndex(SearchVector("question", "answer", config=CONFIG), name="courses_faqentry_search_idx")),
    ]


def add_search(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(ADD_COLUMNS)
    for model, index in indexes():
        schema_editor.add_index(apps.get_model("courses", model), index)


def remove_search(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for model, index in indexes():
        schema_editor.remove_index(apps.get_model("courses", model), index)
    schema_editor.execute(DROP_COLUMNS)


class Migration(migrations.Migration):
    dependencies = [("courses", "0009_quiz_attempt_empty_lists_allowed")]

    operations = [migrations.RunPython(add_search, remove_search, elidable=False)]
