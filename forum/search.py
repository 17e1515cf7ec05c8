"""Search across a course's posts: Postgres full-text search where we have it, a plain word match on SQLite.

On Postgres, posts match on `forum_post.search_vector`, a stored column that Postgres generates from the body
(to_tsvector('english', body)), with a GIN index; thread titles on an expression index of `title_vector()`.
Both are made by forum/migrations/0003_post_search_index.py; tests/forum/test_search.py checks with EXPLAIN that
the query uses them.
"""

import re

from django.contrib.postgres.search import SearchHeadline, SearchQuery, SearchRank, SearchVector, SearchVectorField
from django.db import connection
from django.db.models import Func, Q, Value
from django.db.models.query import ModelIterable
from django.utils.html import escape
from django.utils.safestring import mark_safe

from courses.search import StoredVector

from .models import Post, Thread

CONFIG = "english"
MAX_QUERY_LENGTH = 200
SNIPPET_WORDS = 35
# ts_headline marks the matched words with these; they are turned into <mark> after the text is escaped, so a
# post's own HTML never reaches the page unescaped.
MARK_START, MARK_END = "\ue000", "\ue001"


def body_vector():
    """The posts' stored, indexed search vector (forum/migrations/0003_post_search_index.py)."""
    return StoredVector("search_vector")


def title_vector():
    """The expression of the threads' GIN index."""
    return SearchVector("title", config=CONFIG)


class _Concat(Func):
    template = "(%(expressions)s)"
    arg_joiner = " || "
    output_field = SearchVectorField()


def search_posts(*, course, user, query):
    """Return the posts of the course the user may see that match the query, best first, each with a `snippet`.

    `snippet` is safe HTML: the escaped text around the match, matched words in <mark>. An empty query finds
    nothing. The result is a lazy queryset: paginate it rather than list it.
    """
    query = (query or "").replace("\x00", "").strip()[:MAX_QUERY_LENGTH]  # Postgres refuses NUL in text
    threads = Thread.objects.visible_to(user).filter(course=course)
    posts = Post.objects.visible_to(user).filter(thread__in=threads).select_related("thread", "author")
    if not query:
        return posts.none()
    if connection.vendor == "postgresql":
        return _full_text(posts, threads, query)
    return _word_match(posts, query)


def _full_text(posts, threads, query):
    search = SearchQuery(query, search_type="websearch", config=CONFIG)
    # A post matches by its own words, or by its thread's title, each on its own index. The titles are
    # matched first, in a query of their own: an OR with a subquery would keep Postgres from using the posts' index.
    titled = list(threads.alias(title_vector=title_vector()).filter(title_vector=search).values_list("pk", flat=True))
    weighted = _Concat(
        SearchVector("thread__title", config=CONFIG, weight="A"),
        Func(body_vector(), Value("B"), function="setweight", output_field=SearchVectorField()),
    )
    results = (
        posts.alias(body_vector=body_vector())
        .filter(Q(body_vector=search) | Q(thread_id__in=titled))
        .annotate(
            rank=SearchRank(weighted, search),
            headline=SearchHeadline(
                "body",
                search,
                config=CONFIG,
                start_sel=MARK_START,
                stop_sel=MARK_END,
                max_words=SNIPPET_WORDS,
                min_words=15,
                max_fragments=2,
                fragment_delimiter=" … ",
            ),
        )
        .order_by("-rank", "-created_at", "-id")
    )
    results._iterable_class = _WithHeadline
    return results


class _WithHeadline(ModelIterable):
    def __iter__(self):
        for post in super().__iter__():
            post.snippet = _marked(escape(post.headline))
            yield post


def _marked(escaped):
    return mark_safe(escaped.replace(MARK_START, "<mark>").replace(MARK_END, "</mark>"))  # noqa: S308 - escaped


WORD = re.compile(r"\w+", re.UNICODE)


def _word_match(posts, query):
    """SQLite and others: every word of the query in the post's body or its thread's title, newest first."""
    words = WORD.findall(query)[:10]
    if not words:
        return posts.none()
    for word in words:
        posts = posts.filter(Q(body__icontains=word) | Q(thread__title__icontains=word))
    results = posts.order_by("-created_at", "-id")
    results._iterable_class = type("_WithExcerpt", (_WithExcerpt,), {"words": words})
    return results


class _WithExcerpt(ModelIterable):
    words = ()

    def __iter__(self):
        for post in super().__iter__():
            post.snippet = excerpt(post.body, self.words)
            yield post


def excerpt(text, words, size=SNIPPET_WORDS * 7):
    """Return safe HTML: the text around the first of the words, escaped, the words in <mark>."""
    pattern = re.compile("|".join(re.escape(word) for word in words), re.IGNORECASE)
    found = pattern.search(text)
    start = max(0, found.start() - size // 3) if found else 0
    part = text[start : start + size]
    marked = pattern.sub(lambda match: f"{MARK_START}{match.group(0)}{MARK_END}", part)
    prefix, suffix = ("… " if start else ""), (" …" if start + size < len(text) else "")
    return _marked(prefix + escape(marked) + suffix)
