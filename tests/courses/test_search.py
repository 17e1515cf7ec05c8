"""courses.search: lessons, transcript moments, reading and Q&A found by their words, only from lessons allowed."""

import pytest
from django.db import connection

from courses.models import Lesson
from courses.search import search_course
from tests.factories import FAQEntryFactory, LessonFactory, ResourceFactory, SectionFactory

pytestmark = pytest.mark.django_db

TRANSCRIPT = """00:00 Welcome to the lesson.
00:42 Simulcast sends several encodings of one camera.
01:15 The selective forwarding unit picks a layer
for each receiver, by its bandwidth.
12:34 Simulcast layers again, in detail."""


def everything(lesson):
    return True


@pytest.fixture
def section():
    return SectionFactory(title="Media servers")


def found(course, query, may_open=everything):
    return search_course(course=course, query=query, may_open=may_open)


def test_finds_lessons_by_title_and_by_text(section):
    titled = LessonFactory(section=section, title="Congestion control", body="Nothing else here.")
    texted = LessonFactory(section=section, title="Other", body="Bandwidth estimation and **congestion**.")
    LessonFactory(section=section, title="Unrelated", body="Codecs.")

    hits = found(section.course, "congestion")

    assert {hit.lesson for hit in hits.lessons} == {titled, texted}
    assert hits.lessons[0].lesson == titled  # a title match ranks first on Postgres; first in order on SQLite
    assert "<mark>" in hits.lessons[1].snippet


def test_transcript_hits_are_the_matching_lines_with_their_second(section):
    lesson = LessonFactory(section=section, transcript=TRANSCRIPT)

    hits = found(section.course, "simulcast")

    assert [(hit.lesson, hit.line.seconds, hit.line.label) for hit in hits.transcripts] == [
        (lesson, 42, "0:42"),
        (lesson, 754, "12:34"),
    ]
    assert "<mark>" in hits.transcripts[0].snippet.lower()


def test_a_continued_transcript_line_keeps_the_time_of_its_start(section):
    LessonFactory(section=section, transcript=TRANSCRIPT)

    [hit] = found(section.course, "receiver").transcripts

    assert hit.line.seconds == 75


def test_finds_reading_items_by_title_and_note_and_faq_entries(section):
    lesson = LessonFactory(section=section, body="Nothing.")
    reading = ResourceFactory(lesson=lesson, title="RFC 8829", note="The JSEP specification, with trickle details.")
    ResourceFactory(lesson=lesson, title="Something else", note="Unrelated.")
    entry = FAQEntryFactory(course=section.course, question="Is trickle ICE covered?", answer="Yes, in section 3.")
    FAQEntryFactory(course=section.course, question="Refunds?", answer="Within 14 days.")

    hits = found(section.course, "trickle")

    assert [hit.resource for hit in hits.resources] == [reading]
    assert [hit.entry for hit in hits.faq] == [entry]


def test_nothing_from_a_lesson_the_user_may_not_open(section):
    open_lesson = LessonFactory(section=section, title="Open jitter", transcript="00:10 jitter talk")
    closed = LessonFactory(section=section, title="Closed jitter", body="jitter", transcript="00:10 jitter talk")
    ResourceFactory(lesson=closed, title="Jitter reading")

    hits = found(section.course, "jitter", may_open=lambda lesson: lesson.pk != closed.pk)

    assert [hit.lesson for hit in hits.lessons] == [open_lesson]
    assert [hit.lesson for hit in hits.transcripts] == [open_lesson]
    assert hits.resources == []


def test_nothing_from_another_course(section):
    LessonFactory(section=section, title="Ours")
    LessonFactory(title="Theirs about jitter", transcript="00:01 jitter")
    FAQEntryFactory(question="Jitter?")

    assert len(found(section.course, "jitter")) == 0


def test_empty_and_wordless_queries_find_nothing(section):
    LessonFactory(section=section, title="Anything")

    for query in ["", "   ", "\x00", "-- !!"]:
        assert len(found(section.course, query)) == 0


def test_titles_and_snippets_are_escaped(section):
    payload = "<script>alert(1)</script> jitter"
    LessonFactory(section=section, title=payload, body=payload, transcript=f"00:05 {payload}")
    FAQEntryFactory(course=section.course, question=payload, answer=payload)

    hits = found(section.course, "jitter")

    shown = [hits.lessons[0].title, hits.lessons[0].snippet, hits.transcripts[0].snippet, hits.faq[0].question]
    for html in shown:
        assert "<script" not in html and "jitter</mark>" in html


def test_the_search_indexes_exist(on_postgres):
    names = ["courses_lesson_search_idx", "courses_lesson_transcript_idx", "courses_resource_search_idx",
             "courses_faqentry_search_idx"]  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE indexname = ANY(%s)", [names])
        definitions = dict(cursor.fetchall())
    assert set(definitions) == set(names)
    assert all("USING gin" in definition for definition in definitions.values())
    assert "(search_vector)" in definitions["courses_lesson_search_idx"]
    assert "(transcript_vector)" in definitions["courses_lesson_transcript_idx"]
    assert "to_tsvector" in definitions["courses_resource_search_idx"]


def test_lessons_search_vectors_follow_their_text(section, on_postgres):
    lesson = LessonFactory(section=section, title="Old title", body="Old body.")
    lesson.title, lesson.body, lesson.transcript = "Quokka lesson", "About marzipan.", "00:01 tessellation"
    lesson.save()

    hits = found(section.course, "quokka marzipan")
    assert [hit.lesson for hit in hits.lessons] == [lesson]
    assert [hit.lesson for hit in found(section.course, "tessellation").transcripts] == [lesson]
    assert len(found(section.course, "old")) == 0


@pytest.mark.parametrize(
    ("vector", "index"),
    [("lesson_vector", "courses_lesson_search_idx"), ("transcript_vector", "courses_lesson_transcript_idx")],
)
def test_lesson_searches_use_their_gin_index(section, on_postgres, vector, index):
    from django.contrib.postgres.search import SearchQuery

    from courses import search

    LessonFactory(section=section, title="Zucchini", body="zucchini", transcript="00:01 zucchini")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE courses_lesson")
        cursor.execute("SET LOCAL enable_seqscan = off")  # prove the index is usable, whatever the table's size
    query = SearchQuery("zucchini", search_type="websearch", config=search.CONFIG)
    lessons = Lesson.objects.alias(vector=getattr(search, vector)()).filter(vector=query).order_by()

    assert index in lessons.explain()
    assert lessons.count() == 1
