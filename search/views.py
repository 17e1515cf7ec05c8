"""Search the whole course: one page composing the courses app's hits and the forum's.

The apps search their own things (courses.search, forum.selectors.search_hits); this app sits on top, asks the
access policy what the user may see, and shows the hits in one list per kind. Nothing imports it but the URLs.
"""

import hashlib
from dataclasses import dataclass

from django.shortcuts import render
from django.urls import reverse
from django.utils.html import format_html

from courses.content import built, content_version
from courses.search import LIMIT, MAX_QUERY_LENGTH, clean_query, refused_lessons, search_course
from courses.views import course_view
from courseweb.highlight import highlight, query_words
from enrollment.access import CourseAccess
from forum.selectors import search_hits

# The course's own hits are the same for everyone who may open the same lessons: cached under the course's content
# version (a save in the admin gives a new one), the query and the refused lessons (courses.content.built). Forum
# hits depend on the viewer (staff see hidden posts) and change with every post: never cached.
NO_RESULTS = "No results for “{query}” – try fewer words."
SHORTENED = "Only the first {limit} characters of your search were used."


@dataclass
class Result:
    url: str
    title: str  # safe HTML
    where: str  # plain text: the section › lesson, "Forum", "Q&A"
    snippet: str = ""  # safe HTML
    external: bool = False


@dataclass
class Group:
    key: str
    heading: str
    results: list[Result]

    @property
    def is_capped(self):
        return len(self.results) >= LIMIT


@course_view(CourseAccess.course_home)
def course_search(request, course, access):
    typed = request.GET.get("q", "")
    query = clean_query(typed)
    groups = _groups(request, course, access, query) if query else []
    total = sum(len(group.results) for group in groups)
    context = {
        "course": course,
        "query": query,
        "groups": [group for group in groups if group.results],
        "total": total,
        "no_results": NO_RESULTS.format(query=query) if query and not total else "",
        "shortened": SHORTENED.format(limit=MAX_QUERY_LENGTH) if len(typed.strip()) > MAX_QUERY_LENGTH else "",
    }
    return render(request, "search/results.html", context)


def _groups(request, course, access, query):
    refused = refused_lessons(course=course, may_open=access.may_open())
    digest = hashlib.sha256(f"{query}\0{','.join(map(str, refused))}".encode()).hexdigest()
    course_groups = built(
        f"course-search:{course.pk}:{digest}",
        lambda: _course_groups(course, query, refused),
        version=content_version(course.pk),
    )
    groups = course_groups[:3]
    if access.forum():
        words = query_words(query)
        posts = search_hits(course=course, user=request.user, query=query, limit=LIMIT)
        post_url = reverse("forum:post", args=[course.slug, 0]).removesuffix("0/")
        groups.append(
            Group(
                "forum",
                "Forum",
                [
                    Result(f"{post_url}{post.pk}/", highlight(post.thread.title, words), "Forum", post.snippet)
                    for post in posts
                ],
            )  # fmt: skip
        )
    groups.append(course_groups[3])
    return groups


def _course_groups(course, query, refused):
    """The groups of the course's own hits: lessons, transcripts, reading, Q&A (what every viewer who may open the
    same lessons sees alike)."""
    hits = search_course(course=course, query=query, refused=refused)
    # One reverse() for all the lessons rather than one per hit.
    lesson_prefix = reverse("courses:lesson", args=[course.slug, "x"]).removesuffix("x/")

    def lesson_url(lesson):
        return f"{lesson_prefix}{lesson.slug}/"

    def place(lesson):
        return f"{lesson.section.title} › {lesson.title}"

    faq_url = reverse("courses:faq", args=[course.slug])
    return [
        Group(
            "lessons",
            "Lessons",
            [Result(lesson_url(hit.lesson), hit.title, place(hit.lesson), hit.snippet) for hit in hits.lessons],
        ),
        Group(
            "transcripts",
            "Video transcripts",
            [
                Result(
                    f"{lesson_url(hit.lesson)}?t={hit.line.seconds}",
                    # Visible: the moment (the lesson is on the line below); heard: the lesson too, so that no two
                    # links of the list sound alike.
                    format_html(
                        'Transcript at {}<span class="visually-hidden"> of {}</span>', hit.line.label, hit.lesson.title
                    ),
                    place(hit.lesson),
                    hit.snippet,
                )
                for hit in hits.transcripts
            ],
        ),
        Group(
            "reading",
            "Reading",
            [
                Result(
                    hit.resource.url or reverse("courses:resource", args=[course.slug, hit.resource.pk]),
                    hit.title,
                    f"{place(hit.resource.lesson)} › Reading",
                    hit.snippet,
                    external=bool(hit.resource.url),
                )
                for hit in hits.resources
            ],
        ),
        Group(
            "faq",
            "Q&A",
            [Result(f"{faq_url}#faq-{hit.entry.pk}", hit.question, "Q&A", hit.snippet) for hit in hits.faq],
        ),
    ]
