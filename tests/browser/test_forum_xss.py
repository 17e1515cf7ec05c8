"""XSS: 250 known payloads posted as Markdown forum posts run nothing in a real Chromium, and code blocks show them.

The payloads (tests/data/xss-payloads-forum.txt) are posted three ways: as they are, as Markdown links and images
built from their javascript:/data: URLs, and inside fenced code blocks. Their alert/prompt/confirm calls are
rewritten into a call of `__xssRan`, a marker the page's init script defines, so that any execution shows
(`window.__xss`), even of a payload that would not open a dialog; encoded forms that the rewrite cannot reach
would still open a dialog, which the test also listens for.
"""

import re
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.urls import reverse

from forum.models import Board
from forum.selectors import POSTS_PER_PAGE
from forum.services import create_default_boards, reply, start_thread
from tests.factories import EnrollmentFactory, RunFactory, StaffFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PAYLOADS_FILE = Path(__file__).resolve().parent.parent / "data" / "xss-payloads-forum.txt"
EXECUTED = re.compile(r"\b(alert|prompt|confirm)\b", re.IGNORECASE)
URL_IN_PAYLOAD = re.compile(r"""((?:javascript|data|vbscript):[^\s"'>]+)""", re.IGNORECASE)

MARKER = """
window.__xss = 0;
window.__xssCalls = [];
window.__xssRan = function () { window.__xss = 1; window.__xssCalls.push(String(arguments[0])); };
"""

# Every element inside a post body that could run or load script: handlers, script-ish tags and URLs whose
# scheme (as the browser resolved it) is not http(s)/mailto.
DANGEROUS_IN_POSTS = """
(selector) => {
  const found = [];
  if (!document.querySelector(selector)) return ["nothing matches " + selector];
  const tags = new Set(["SCRIPT", "IFRAME", "OBJECT", "EMBED", "FORM", "INPUT", "BUTTON", "STYLE", "LINK", "META",
                        "BASE", "SVG", "MATH", "TEXTAREA", "SELECT", "FRAME", "FRAMESET", "ISINDEX", "TEMPLATE"]);
  for (const body of document.querySelectorAll(selector)) {
    for (const element of body.querySelectorAll("*")) {
      const where = (element.closest("article, li")?.id || selector) + " <" + element.tagName.toLowerCase() + ">";
      if (tags.has(element.tagName.toUpperCase())) found.push(where);
      for (const attribute of element.attributes) {
        const name = attribute.name.toLowerCase();
        if (name.startsWith("on")) found.push(where + " " + name);
        if (name === "style") found.push(where + " style");
      }
      for (const name of ["href", "src", "action", "formaction", "xlink:href", "poster", "background", "data"]) {
        const value = element.getAttribute(name);
        if (value === null) continue;
        let scheme;
        try { scheme = new URL(value, document.baseURI).protocol; } catch (error) { continue; }
        if (!["http:", "https:", "mailto:"].includes(scheme)) found.push(where + " " + name + "=" + value);
      }
    }
  }
  return found;
}
"""


def load_payloads():
    lines = PAYLOADS_FILE.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("#") and "shared/data/xss-payloads.txt" in lines[0] and "MIT" in lines[0]
    payloads = [line for line in lines[1:] if line.strip()]
    assert len(payloads) >= 200
    return payloads


def armed(payload):
    """The payload with its dialog calls turned into the marker call."""
    return EXECUTED.sub("__xssRan", payload)


def markdown_link_forms(payloads):
    """Markdown links, images, references and autolinks to the payloads' script URLs, and a few spellings."""
    urls = sorted({match.group(1) for payload in payloads for match in URL_IN_PAYLOAD.finditer(armed(payload))})
    forms = []
    for url in urls:
        forms += [f"[click]({url})", f"![image]({url})", f"<{url}>", f"[ref link][r]\n\n[r]: {url}"]
    forms += [
        "[x](javascript:__xssRan(1))",
        "[x](JaVaScRiPt:__xssRan(1))",
        "[x]( javascript:__xssRan(1) )",
        "[x](javascript&#58;__xssRan(1))",
        "[x](&#106;avascript:__xssRan(1))",
        "[x](&#x6A;avascript&#x3A;__xssRan(1))",
        "[x](java&#x09;script:__xssRan(1))",
        '[x](javascript:__xssRan(1) "title")',
        "[x](<javascript:__xssRan(1)>)",
        "[x](data:text/html;base64,PHNjcmlwdD5fX3hzc1JhbigxKTwvc2NyaXB0Pg==)",
        "[x](vbscript:__xssRan(1))",
        '[x](https://example.org/" onmouseover="__xssRan(1))',
        '![x](https://example.org/x.png" onerror="__xssRan(1))',
        "[<img src=x onerror=__xssRan(1)>](https://example.org/)",
    ]
    return forms


def fenced(payload):
    fence = "~~~~" if "```" in payload else "```"
    return f"A payload, as code:\n\n{fence}html\n{payload}\n{fence}\n"


@pytest.fixture
def xss_forum(live_server):
    """A course forum with three threads of payload posts (as they are, as Markdown links, in code blocks)."""
    run = RunFactory()
    course = run.course
    create_default_boards(course=course)
    board = Board.objects.filter(course=course).first()
    staff = StaffFactory()  # the rate limit does not apply to staff
    student = EnrollmentFactory(run=run, user=UserFactory()).user
    payloads = [armed(payload) for payload in load_payloads()]

    def thread_of(title, bodies):
        thread = start_thread(user=staff, board=board, title=title, body="Payloads follow.")
        posts = [reply(user=staff, thread=thread, body=body) for body in bodies]
        return thread, posts

    raw = thread_of("Payloads as they are", payloads)
    links = thread_of("Payloads as Markdown links", markdown_link_forms(load_payloads()))
    code_thread, code_posts = thread_of("Payloads in code blocks", [fenced(payload) for payload in payloads])
    return SimpleNamespace(
        course=course, student=student, threads=[raw[0], links[0], code_thread],
        code_posts=list(zip(code_posts, payloads, strict=True)), posts=len(raw[1]) + len(links[1]) + len(code_posts),
    )  # fmt: skip


def test_forum_payloads_run_nothing_in_threads_or_search_and_code_blocks_show_them(
    xss_forum, live_server, page, log_in
):
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.add_init_script(MARKER)
    log_in(xss_forum.student)
    code_texts, seen_posts = {}, 0

    for thread in xss_forum.threads:
        url = live_server.url + reverse("forum:thread", args=[xss_forum.course.slug, thread.pk])
        pages = -(-(thread.posts.count()) // POSTS_PER_PAGE)
        assert pages > 1
        for number in range(1, pages + 1):
            response = page.goto(f"{url}?page={number}")
            assert response.status == 200, f"{url}?page={number}"
            page.wait_for_load_state("load")
            page.mouse.move(400, 300)
            page.mouse.wheel(0, 4000)  # scroll: some payloads fire on scroll, focus or animation
            page.wait_for_timeout(150)
            on_page = page.locator(".post-body").count()
            last = thread.posts.count() - POSTS_PER_PAGE * (pages - 1)
            assert on_page == (POSTS_PER_PAGE if number < pages else last)
            seen_posts += on_page
            assert page.evaluate(DANGEROUS_IN_POSTS, ".post-body") == [], f"{url}?page={number}"
            assert page.evaluate("window.__xss") == 0, page.evaluate("window.__xssCalls")
            if thread == xss_forum.threads[-1]:
                code_texts.update(
                    page.evaluate(
                        """() => Object.fromEntries([...document.querySelectorAll("article.forum-post")].map(
                               article => [article.id, article.querySelector(".post-body pre code")?.textContent]))"""
                    )
                )

    check_search_results(page, live_server, xss_forum)
    assert dialogs == []
    assert seen_posts == xss_forum.posts + len(xss_forum.threads)  # each thread's opening post too
    for post, payload in xss_forum.code_posts:
        assert (code_texts[f"post-{post.pk}"] or "").strip() == payload.strip(), payload


def test_the_checks_catch_a_payload_that_was_not_sanitised(page):
    """The harness itself: unsanitised payloads do set the marker, open a dialog and show in the DOM check."""
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.add_init_script(MARKER)
    page.goto("about:blank")
    armed_part = armed('<img src=x onerror=alert(1)><a href="javascript:alert(2)">x</a>')
    unarmed_part = "<svg onload=alert(3)></svg><img src=y onerror=alert(4)>"  # would only open a dialog
    page.set_content(f'<article id="post-1"><div class="post-body">{armed_part}{unarmed_part}</div></article>')
    page.wait_for_timeout(200)

    assert page.evaluate("window.__xss") == 1
    assert len(page.evaluate(DANGEROUS_IN_POSTS, ".post-body")) >= 3
    assert sorted(dialogs) == ["3", "4"]


def check_search_results(page, live_server, xss_forum):
    """The search page shows snippets of the payload posts' Markdown source: escaped, with only <mark> added."""
    url = live_server.url + reverse("forum:search", args=[xss_forum.course.slug])

    for query in ["script", "svg", "img", "javascript", "payload"]:
        response = page.goto(f"{url}?q={query}")
        assert response.status == 200
        results = page.locator(".forum-results > li")
        assert results.count() > 1, query
        page.mouse.move(400, 300)
        page.wait_for_timeout(150)
        assert page.evaluate(DANGEROUS_IN_POSTS, ".forum-results") == [], query
        assert page.evaluate("window.__xss") == 0, page.evaluate("window.__xssCalls")
