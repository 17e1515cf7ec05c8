"""Full-text search on Postgres (SQLite searches with a plain match, so this does nothing there).

Posts get a stored, generated `search_vector` column, to_tsvector('english', body), with a GIN index: ranking and
rechecking the matches then read the stored vector instead of parsing every matching body again, which is what
makes a common word fast over 100,000 posts. Postgres keeps the column up to date on every insert and edit. It is
not a model field (SQLite has no tsvector), so Django's state does not know it; forum.search reads it.
Thread titles are short and few: an expression index, built from forum.search's own expression, suffices.
"""

from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector
from django.db import migrations

ADD_COLUMN = """
ALTER TABLE forum_post ADD COLUMN search_vector tsvector
    GENERATED ALWAYS AS (to_tsvector('english'::regconfig, COALESCE(body, ''))) STORED;
CREATE INDEX forum_post_search_vector_idx ON forum_post USING gin (search_vector);
"""
DROP_COLUMN = """
DROP INDEX IF EXISTS forum_post_search_vector_idx;
ALTER TABLE forum_post DROP COLUMN IF EXISTS search_vector;
"""


def title_index():
    return GinIndex(SearchVector("title", config="english"), name="forum_thread_title_search_idx")


def add_search(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(ADD_COLUMN)
    schema_editor.add_index(apps.get_model("forum", "Thread"), title_index())


def remove_search(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.remove_index(apps.get_model("forum", "Thread"), title_index())
    schema_editor.execute(DROP_COLUMN)


class Migration(migrations.Migration):
    dependencies = [("forum", "0002_default_boards_for_existing_courses")]

    operations = [migrations.RunPython(add_search, remove_search, elidable=False)]
