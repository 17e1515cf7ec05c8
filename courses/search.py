"""Search a course's own content: lessons (title and text), video transcripts, reading items and Q&A entries.

Postgres matches with full-text search (courses/migrations/0010_search_indexes.py): lessons on two stored, generated
tsvector columns with GIN indexes (title and text; transcript), which Postgres keeps up to date, so that ranking a
common word over thousands of lessons reads the stored vectors instead of parsing every text again (as the forum's
posts); reading items and Q&A entries, short and few, on GIN expression indexes of this module's own vectors.
tests/courses/test_search.py checks with EXPLAIN that the searches use them.
SQLite with a plain match of every word, like the forum's search (forum/search.py). Which lessons a user may open
is the access policy's, not this app's: the caller passes it as `may_open(lesson)`, and nothing of any other
lesson (its text, its transcript, its reading) is returned. A fixed number of queries, whatever the course's size.
"""

from collections import namedtuple
from collections.abc import Callable
from dataclasses import dataclass, field

from django.contrib.postgres.search import SearchHeadline, SearchQuery, SearchRank, SearchVector, SearchVectorField
from django.db import connection
from django.db.models import Expression, Q

from courseweb.highlight import MARK_END, MARK_START, excerpt, highlight, marked, query_words

from .content import built, content_version
from .models import Course, FAQEntry, Lesson, Resource
from .video import TranscriptLine, parse_transcript

CONFIG = "english"
MAX_QUERY_LENGTH = 200
LIMIT = 20  # hits of each kind
LINES_PER_LESSON = 3  # transcript moments shown per lesson
SNIPPET_WORDS = 30


class StoredVector(Expression):
    """A stored search vector column of the query's main table: a column only Postgres has (courses/migrations/
    0010_search_indexes.py for lessons, forum/migrations/0003 for posts), so not a model field.

    Bound to the query's initial alias, and relabelled with it, so it stays right inside a subquery.
    """

    output_field = SearchVectorField()

    def __init__(self, column, alias=None):
        super().__init__()
        self.column, self.alias = column, alias

    def resolve_expression(self, query=None, allow_joins=True, reuse=None, summarize=False, for_save=False):
        resolved = self.copy()
        resolved.alias = query.get_initial_alias()
        return resolved

    def relabeled_clone(self, change_map):
        clone = self.copy()
        clone.alias = change_map.get(self.alias, self.alias)
        return clone

    def as_sql(self, compiler, connection):
        return f"{compiler.quote_name_unless_alias(self.alias)}.{connection.ops.quote_name(self.column)}", []

    def get_group_by_cols(self):
        return [self]


def lesson_vector():
    """The lessons' title (weight A) and text (B), stored and GIN-indexed: courses_lesson.search_vector."""
    return StoredVector("search_vector")


def transcript_vector():
    """The lessons' transcript, stored and GIN-indexed: courses_lesson.transcript_vector."""
    return StoredVector("transcript_vector")


def resource_vector():
    return SearchVector("title", "note", config=CONFIG)


def faq_vector():
    return SearchVector("question", "answer", config=CONFIG)


@dataclass
class LessonHit:
    lesson: Lesson
    title: str  # safe HTML, matched words marked
    snippet: str  # safe HTML


@dataclass
class TranscriptHit:
    lesson: Lesson
    line: TranscriptLine
    snippet: str  # safe HTML


@dataclass
class ResourceHit:
    resource: Resource
    title: str
    snippet: str


@dataclass
class FAQHit:
    entry: FAQEntry
    question: str
    snippet: str


@dataclass
class CourseHits:
    lessons: list[LessonHit] = field(default_factory=list)
    transcripts: list[TranscriptHit] = field(default_factory=list)
    resources: list[ResourceHit] = field(default_factory=list)
    faq: list[FAQHit] = field(default_factory=list)

    def __len__(self):
        return len(self.lessons) + len(self.transcripts) + len(self.resources) + len(self.faq)


def clean_query(query) -> str:
    """The query as searched: no NUL (Postgres refuses it in text), trimmed, at most 200 characters."""
    return (query or "").replace("\x00", "").strip()[:MAX_QUERY_LENGTH]


RELEASE_FIELDS = ("id", "pk", "course_id", "release_after_days", "release_time", "is_free_preview")
ReleaseRow = namedtuple("ReleaseRow", RELEASE_FIELDS)
RELEASE_ROWS_HELD = 32  # courses whose rows a process keeps (built(): a search reads the version, not the rows)


def _release_rows(course) -> list:
    def read():
        lessons = Lesson.objects.filter(course=course).order_by("id").values_list(*RELEASE_FIELDS)
        return [ReleaseRow._make(row) for row in lessons]

    return built(
        f"course-release-rows:{course.pk}", read, version=content_version(course.pk), memo_size=RELEASE_ROWS_HELD
    )


def refused_lessons(*, course: Course, may_open: Callable[[Lesson], bool]) -> list[int]:
    """Return the ids of the course's lessons `may_open(lesson)` refuses, in order.

    `may_open` is asked of rows carrying the lessons' release fields only (id, pk, course_id, release_after_days,
    release_time, is_free_preview), not of models: a course of thousands of lessons is asked on every search. The
    rows are cached under the course's content version (a lesson's save gives a new one); the policy is asked anew.
    """
    return [lesson.id for lesson in _release_rows(course) if not may_open(lesson)]


def search_course(
    *, course: Course, query: str, may_open: Callable[[Lesson], bool] | None = None, refused=None, limit=LIMIT
) -> CourseHits:
    """Return what of the course matches the query, best first, only from lessons `may_open(lesson)` allows
    (asked as `refused_lessons` asks it), or, given `refused` (from `refused_lessons`), from the other lessons.

    Q&A entries are public (the course's Q&A page is), so they need no lesson.
    """
    query = clean_query(query)
    words = query_words(query)
    if not words:
        return CourseHits()
    if refused is None:
        refused = refused_lessons(course=course, may_open=may_open)
    # Refused lessons are few (those not released yet) or all (before the start): the shorter list goes to the query.
    lessons = Lesson.objects.filter(course=course).exclude(pk__in=refused)
    resources = Resource.objects.filter(lesson__course=course).exclude(lesson_id__in=refused)
    entries = FAQEntry.objects.filter(course=course)
    if connection.vendor == "postgresql":
        search = SearchQuery(query, search_type="websearch", config=CONFIG)
        return CourseHits(
            lessons=_full_text_lessons(lessons, search, words, limit),
            transcripts=_full_text_transcripts(lessons, search, query, limit),
            resources=_full_text_resources(resources, search, words, limit),
            faq=_full_text_faq(entries, search, words, limit),
        )
    return CourseHits(
        lessons=_word_match_lessons(lessons, words, limit),
        transcripts=_word_match_transcripts(lessons, words, limit),
        resources=_word_match_resources(resources, words, limit),
        faq=_word_match_faq(entries, words, limit),
    )


# --- Postgres ---


def _headline(field_name, search):
    return SearchHeadline(
        field_name, search, config=CONFIG, start_sel=MARK_START, stop_sel=MARK_END, max_words=SNIPPET_WORDS,
        min_words=10, max_fragments=2, fragment_delimiter=" … ",
    )  # fmt: skip


_LESSON_ONLY = ("id", "course_id", "section_id", "title", "slug", "order", "section__title", "section__order")


def _lesson_fields(lessons, *extra):
    """The lessons with what a hit shows (title, address, section), and the `extra` fields."""
    return lessons.select_related("section").only(*_LESSON_ONLY, *extra)


def _full_text_lessons(lessons, search, words, limit):
    found = (
        _lesson_fields(lessons)
        .alias(vector=lesson_vector())
        .filter(vector=search)
        .annotate(rank=SearchRank(lesson_vector(), search), headline=_headline("body", search))
        .order_by("-rank", "section__order", "order", "id")[:limit]
    )
    return [LessonHit(lesson, highlight(lesson.title, words), marked(lesson.headline)) for lesson in found]


# Which of many lines match, in one query: the lines go in as one array, their numbers and headlines come back.
MATCHING_LINES = """
SELECT t.n, ts_headline(%(config)s::regconfig, t.line, q, %(options)s)
FROM unnest(%(lines)s::text[]) WITH ORDINALITY AS t(line, n), websearch_to_tsquery(%(config)s::regconfig, %(query)s) q
WHERE to_tsvector(%(config)s::regconfig, t.line) @@ q
ORDER BY t.n
"""


def _full_text_transcripts(lessons, search, query, limit):
    found = list(
        _lesson_fields(lessons, "transcript")
        .alias(vector=transcript_vector())
        .filter(vector=search)
        .annotate(rank=SearchRank(transcript_vector(), search))
        .order_by("-rank", "section__order", "order", "id")[:limit]
    )
    numbered = [(lesson, line) for lesson in found for line in parse_transcript(lesson.transcript)]
    if not numbered:
        return []
    options = f"StartSel={MARK_START}, StopSel={MARK_END}, HighlightAll=true"
    with connection.cursor() as cursor:
        cursor.execute(
            MATCHING_LINES,
            {"config": CONFIG, "options": options, "query": query, "lines": [line.text for _, line in numbered]},
        )
        matching = cursor.fetchall()
    hits, per_lesson = [], {}
    for number, headline in matching:
        lesson, line = numbered[number - 1]
        per_lesson[lesson.pk] = per_lesson.get(lesson.pk, 0) + 1
        if per_lesson[lesson.pk] <= LINES_PER_LESSON:
            hits.append(TranscriptHit(lesson, line, marked(headline)))
    order = {lesson.pk: index for index, lesson in enumerate(found)}
    return sorted(hits, key=lambda hit: order[hit.lesson.pk])  # stable: a lesson's moments stay in time order


def _full_text_resources(resources, search, words, limit):
    found = (
        resources.select_related("lesson__section")
        .alias(vector=resource_vector())
        .filter(vector=search)
        .annotate(rank=SearchRank(resource_vector(), search), headline=_headline("note", search))
        .order_by("-rank", "id")[:limit]
    )
    return [ResourceHit(item, highlight(item.title, words), marked(item.headline)) for item in found]


def _full_text_faq(entries, search, words, limit):
    found = (
        entries.alias(vector=faq_vector())
        .filter(vector=search)
        .annotate(rank=SearchRank(faq_vector(), search), headline=_headline("answer", search))
        .order_by("-rank", "order", "id")[:limit]
    )
    return [FAQHit(entry, highlight(entry.question, words), marked(entry.headline)) for entry in found]


# --- SQLite and others: every word somewhere in the item, as the forum's fallback does ---


def _every_word(queryset, words, *fields):
    for word in words:
        condition = Q()
        for name in fields:
            condition |= Q(**{f"{name}__icontains": word})
        queryset = queryset.filter(condition)
    return queryset


def _word_match_lessons(lessons, words, limit):
    found = _every_word(_lesson_fields(lessons, "body"), words, "title", "body")
    found = found.order_by("section__order", "section_id", "order", "id")[:limit]
    return [LessonHit(lesson, highlight(lesson.title, words), excerpt(lesson.body, words)) for lesson in found]


def _word_match_transcripts(lessons, words, limit):
    found = _every_word(_lesson_fields(lessons, "transcript"), words, "transcript")
    hits = []
    for lesson in found.order_by("section__order", "section_id", "order", "id")[:limit]:
        lines = [line for line in parse_transcript(lesson.transcript) if _has_every_word(line.text, words)]
        hits.extend(TranscriptHit(lesson, line, highlight(line.text, words)) for line in lines[:LINES_PER_LESSON])
    return hits


def _has_every_word(text, words):
    lowered = text.lower()
    return all(word.lower() in lowered for word in words)


def _word_match_resources(resources, words, limit):
    found = _every_word(resources.select_related("lesson__section"), words, "title", "note").order_by("id")[:limit]
    return [ResourceHit(item, highlight(item.title, words), excerpt(item.note, words)) for item in found]


def _word_match_faq(entries, words, limit):
    found = _every_word(entries, words, "question", "answer").order_by("order", "id")[:limit]
    return [FAQHit(entry, highlight(entry.question, words), excerpt(entry.answer, words)) for entry in found]
