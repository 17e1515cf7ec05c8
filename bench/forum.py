"""The forum in the benchmark: its pages under bench.py's gunicorn run, and search latency over 100,000 posts.

Called by bench.py: `forum_pages()` builds a board of threads and a 500-post thread in the large bench course
(the student is enrolled there) and returns the pages to load alongside the bare view; `measure_search()` then
fills another course with 100,000 posts and times `forum.search.search_posts` in-process (Postgres only).
"""

import random
import statistics
import time
from dataclasses import dataclass, field
from datetime import timedelta

THREADS = 300  # in the measured board: 12 pages of 25
THREAD_POSTS = 500  # in the measured thread
SEARCH_POSTS = 100_000
SEARCH_THREADS = 2_000
SEARCH_REPEATS = 5  # each query of SEARCH_QUERIES this many times: 50 timings a kind

WORDS = (
    "offer answer candidate codec bitrate jitter latency packet loss stream track peer browser server signalling "
    "turn stun relay firewall encoder decoder keyframe resolution framerate bandwidth estimate congestion buffer "
    "audio video screen share recording simulcast layer datachannel message timeout reconnect mobile network"
).split()
PEERS = ["remote", "local", "other", "new", "first", "second", "mobile", "desktop"]
RARE_WORDS = ["zucchini", "harpsichord", "quokka", "tessellation", "marzipan"]  # a few posts each
# kind, query: common words match a large share of the posts, rare ones a handful.
SEARCH_QUERIES = [
    ("common word", "packet"),
    ("common word", "browser"),
    ("two common words", "jitter buffer"),
    ("phrase", '"remote peer"'),
    ("common word, excluded word", "codec -video"),
    ("rare word", "zucchini"),
    ("rare word", "quokka"),
    ("rare word", "marzipan"),
    ("no match", "xylophonist"),
    ("title word", "renegotiation"),
]

POST_BODY = """Thanks, that helps. I tried it with the {a} and the {b} and still see the problem when the {e} peer
{c}s. Here is what `chrome://webrtc-internals` shows:

```js
pc.getStats().then(stats => stats.forEach(report => console.log(report.type, report.{a}))); // {d}
```

- the {b} goes up after a few seconds;
- the {c} stays flat.

Is this the {d} or something in my code? {rare}"""


@dataclass
class ForumPage:
    name: str
    path: str
    marker: str


@dataclass
class SearchTiming:
    kind: str
    query: str
    matches: int
    seconds: list = field(default_factory=list)


@dataclass
class SearchReport:
    skipped: str = ""
    posts: int = 0
    build_seconds: float = 0.0
    timings: list = field(default_factory=list)
    plan: str = ""
    index_used: bool = False


def _body(rng, rare=""):
    a, b, c, d = rng.sample(WORDS, 4)
    return POST_BODY.format(a=a, b=b, c=c, d=d, e=rng.choice(PEERS), rare=rare)


def _rendered_bodies(rng, count):
    """A pool of distinct bodies, each rendered once: rendering 100,000 Markdown bodies would dominate the build."""
    from courses.markdown import render_markdown

    bodies = [_body(rng) for _ in range(count)]
    return [(body, render_markdown(body)) for body in bodies]


def forum_pages(*, course_slug, log):
    """Build the measured board and thread in the course; return its pages, or None while the forum has no pages."""
    from django.urls import NoReverseMatch, reverse
    from django.utils import timezone

    from accounts.models import User
    from courses.models import Course
    from forum.models import Board, Post, Thread

    course = Course.objects.get(slug=course_slug)
    board = Board.objects.filter(course=course).order_by("order", "id").first()
    if board is None:
        return None
    try:
        reverse("forum:board", args=[course.slug, board.slug])
    except NoReverseMatch:
        return None
    log(f"bench: building the forum ({THREADS} threads, one of {THREAD_POSTS} posts)")
    rng = random.Random(4)
    now = timezone.now()
    members = User.objects.bulk_create(
        User(email=f"bench-forum-{n}@example.com", first_name=f"Member{n}") for n in range(20)
    )
    instructor = User.objects.create_user(email="bench-instructor@example.com", password=None, is_staff=True)
    pool = _rendered_bodies(rng, 50)
    threads = Thread.objects.bulk_create(
        Thread(
            board=board,
            course=course,
            title=f"Question {n + 1}: why does the {rng.choice(WORDS)} drop?",
            author=members[n % len(members)],
            created_at=now - timedelta(hours=THREADS - n),
            last_post_at=now - timedelta(hours=THREADS - n, minutes=-5),
            reply_count=1,
            is_pinned=n >= THREADS - 2,
        )
        for n in range(THREADS)
    )
    posts = []
    for thread in threads:
        for k, author in enumerate((thread.author, instructor)):
            body, html = pool[rng.randrange(len(pool))]
            posts.append(
                Post(
                    thread=thread,
                    author=author,
                    body=body,
                    body_html=html,
                    created_at=thread.created_at + timedelta(minutes=5 * k),
                    author_is_staff=author.is_staff,
                )
            )
    long_thread = threads[THREADS // 2]
    long_thread.title = f"A long discussion ({THREAD_POSTS} posts)"
    long_thread.reply_count = THREAD_POSTS - 1
    long_thread.save(update_fields=["title", "reply_count"])
    posts = [post for post in posts if post.thread_id != long_thread.pk]
    for k in range(THREAD_POSTS):
        body, html = pool[k % len(pool)]
        author = instructor if k % 4 == 3 else members[k % len(members)]
        posts.append(
            Post(
                thread=long_thread,
                author=author,
                body=body,
                body_html=html,
                author_is_staff=author.is_staff,
                created_at=long_thread.created_at + timedelta(seconds=30 * k),
            )
        )
    Post.objects.bulk_create(posts, batch_size=1000)
    return [
        ForumPage("forum: thread list", reverse("forum:board", args=[course.slug, board.slug]), board.title),
        ForumPage(
            f"forum: thread, {THREAD_POSTS} posts",
            reverse("forum:thread", args=[course.slug, long_thread.pk]),
            long_thread.title,
        ),
    ]


def build_search_corpus(*, log, posts=SEARCH_POSTS, threads=SEARCH_THREADS):
    """A course with `posts` posts in `threads` threads, a few of them with rare words; ANALYZEd."""
    from django.db import connection
    from django.utils import timezone

    from accounts.models import User
    from courses.markdown import render_markdown
    from courses.models import Course
    from forum.models import Board, Post, Thread

    rng = random.Random(100_000)
    now = timezone.now()
    course = Course.objects.create(
        title="Bench search course", slug="bench-search", description="Search.", is_published=True
    )
    board = Board.objects.filter(course=course).first()
    author = User.objects.create_user(email="bench-search@example.com", password=None)
    titles = [
        f"{rng.choice(WORDS).capitalize()} and {rng.choice(WORDS)} after renegotiation"
        if n % 50 == 0
        else f"Trouble with the {rng.choice(WORDS)} and the {rng.choice(WORDS)}"
        for n in range(threads)
    ]
    thread_rows = Thread.objects.bulk_create(
        (
            Thread(board=board, course=course, title=title, author=author, created_at=now, last_post_at=now)
            for title in titles
        ),
        batch_size=1000,
    )
    pool = _rendered_bodies(rng, 400)
    rare = {rng.randrange(posts): word for word in RARE_WORDS for _ in range(3)}
    start = time.perf_counter()
    batch = []
    for n in range(posts):
        if n in rare:
            body = _body(rng, rare=rare[n])
            html = render_markdown(body)
        else:
            body, html = pool[n % len(pool)]
        batch.append(
            Post(
                thread=thread_rows[n % threads],
                author=author,
                body=body,
                body_html=html,
                created_at=now - timedelta(seconds=posts - n),
            )
        )
        if len(batch) == 5000:
            Post.objects.bulk_create(batch)
            batch = []
            if (n + 1) % 25_000 == 0:
                log(f"bench: search corpus, {n + 1:,} posts")
    Post.objects.bulk_create(batch)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE forum_post")
        cursor.execute("ANALYZE forum_thread")
    return course, author, time.perf_counter() - start


def measure_search(*, postgres, log, posts=SEARCH_POSTS, repeats=SEARCH_REPEATS):
    """Time search_posts over `posts` posts: the count and the first page of 25, as the search page asks."""
    if not postgres:
        return SearchReport(skipped="skipped: needs Postgres (DATABASE_URL); SQLite only has the plain match")
    from forum.search import search_posts

    log(f"bench: building the search corpus ({posts:,} posts)")
    course, user, build_seconds = build_search_corpus(log=log, posts=posts)
    report = SearchReport(posts=posts, build_seconds=build_seconds)
    for _kind, query in SEARCH_QUERIES:  # warm: the plan cache, the index pages
        list(search_posts(course=course, user=user, query=query)[:25])
    log(f"bench: timing {len(SEARCH_QUERIES) * repeats} searches")
    timings = {}
    for _ in range(repeats):
        for kind, query in SEARCH_QUERIES:
            start = time.perf_counter()
            results = search_posts(course=course, user=user, query=query)
            matches = results.count()
            page = list(results[:25])
            elapsed = time.perf_counter() - start
            assert all(hasattr(post, "snippet") for post in page)
            timing = timings.setdefault(query, SearchTiming(kind, query, matches))
            timing.seconds.append(elapsed)
    report.timings = list(timings.values())
    report.plan = search_posts(course=course, user=user, query="zucchini")[:25].explain()
    report.index_used = "forum_post_search_vector_idx" in report.plan
    return report


def _ms(values, fraction):
    ordered = sorted(values)
    return 1000 * ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))]


def print_search_table(report):
    print()
    print(
        "Forum search: forum.search.search_posts in-process, the match count and the first 25 results with "
        "snippets (what the search page asks)."
    )
    if report.skipped:
        print(report.skipped)
        return
    print(
        f"{report.posts:,} posts in {SEARCH_THREADS:,} threads of one course, built in {report.build_seconds:.0f} s "
        f"(bulk_create, GIN indexes maintained on insert)."
    )
    header = f"{'query':<30} {'kind':<28} {'matches':>8} {'runs':>5} {'p50 ms':>8} {'p99 ms':>8}"
    print(header)
    print("-" * len(header))
    by_kind = {}
    for timing in report.timings:
        by_kind.setdefault(timing.kind, []).extend(timing.seconds)
        print(
            f"{timing.query:<30} {timing.kind:<28} {timing.matches:>8} {len(timing.seconds):>5} "
            f"{_ms(timing.seconds, 0.5):>8.1f} {_ms(timing.seconds, 0.99):>8.1f}"
        )
    every = [second for timing in report.timings for second in timing.seconds]
    common = [s for kind, seconds in by_kind.items() if "common" in kind for s in seconds]
    rare = [s for kind, seconds in by_kind.items() if kind in {"rare word", "no match"} for s in seconds]
    print(
        f"all {len(every)} searches: p50 {_ms(every, 0.5):.1f} ms, p99 {_ms(every, 0.99):.1f} ms; "
        f"common words p50 {_ms(common, 0.5):.1f} ms, rare words p50 {_ms(rare, 0.5):.1f} ms "
        f"(mean {1000 * statistics.mean(every):.1f} ms)"
    )
    print(
        f"GIN index forum_post_search_vector_idx used: {'yes' if report.index_used else 'NO'}. "
        "Plan of a rare-word search:"
    )
    for line in report.plan.splitlines():
        print(f"    {line}")
