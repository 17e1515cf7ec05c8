"""Lesson Markdown renders to sanitised HTML: no script, handler, javascript:/data: URL, iframe or style."""

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from courses.markdown import render_markdown
from tests.factories import FAQEntryFactory, LessonFactory

PAYLOADS_FILE = Path(__file__).resolve().parent.parent / "data" / "xss-payloads-sample.txt"
HANDLER = re.compile(r"^on\w+$", re.I)
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href", "srcset", "poster", "background", "data"}
FORBIDDEN_TAGS = {"script", "iframe", "style", "object", "embed", "form", "input", "button", "svg", "math", "link",
                  "meta", "base", "frame", "frameset", "textarea", "select", "body", "html", "isindex"}  # fmt: skip


def load_payloads():
    lines = PAYLOADS_FILE.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("#") and "shared/data/xss-payloads.txt" in lines[0] and "MIT" in lines[0]
    payloads = [line for line in lines[1:] if line.strip()]
    assert len(payloads) == 50  # the tests parametrised with them must not shrink unseen
    return payloads


class Elements(HTMLParser):
    """Collect every start tag with its attributes (values unescaped, as a browser reads them)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags = []
        self.text = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, attrs))

    handle_startendtag = handle_starttag

    def handle_data(self, data):
        self.text.append(data)


def parse(html):
    parser = Elements()
    parser.feed(html)
    parser.close()
    return parser


SCHEME = re.compile(r"^([a-z][a-z0-9+.-]*):", re.I)


def scheme_of(value):
    """Return the URL's scheme as a browser reads it (WHATWG URL: "java\tscript:" is javascript:)."""
    cleaned = re.sub(r"[\t\n\r]", "", (value or "").strip("".join(map(chr, range(0x21)))))
    match = SCHEME.match(cleaned)
    return match.group(1).lower() if match else ""


def problems_in(html):
    """Return what a browser would execute or load from the HTML; an empty list when it is safe."""
    found = []
    for tag, attrs in parse(html).tags:
        if tag in FORBIDDEN_TAGS:
            found.append(f"<{tag}>")
        for name, value in attrs:
            if HANDLER.match(name):
                found.append(f"{tag} {name}=")
            if name == "style":
                found.append(f"{tag} style=")
            if name in URL_ATTRIBUTES and scheme_of(value) in {"javascript", "data", "vbscript"}:
                found.append(f"{tag} {name}={value}")
    return found


class LessonBody(HTMLParser):
    """Return the HTML inside the page's lesson-body div (the page's own scripts are not lesson content)."""

    def __init__(self):
        super().__init__(convert_charrefs=False)
        self.depth = 0
        self.parts = []

    def handle_starttag(self, tag, attrs):
        if self.depth:
            self.depth += tag == "div"
            self.parts.append(self.get_starttag_text())
        elif tag == "div" and "lesson-body" in (dict(attrs).get("class") or "").split():
            self.depth = 1

    def handle_startendtag(self, tag, attrs):
        if self.depth:
            self.parts.append(self.get_starttag_text())

    def handle_endtag(self, tag):
        if self.depth:
            self.depth -= tag == "div"
            if self.depth:
                self.parts.append(f"</{tag}>")

    def handle_data(self, data):
        if self.depth:
            self.parts.append(data)

    def handle_entityref(self, name):
        if self.depth:
            self.parts.append(f"&{name};")

    def handle_charref(self, name):
        if self.depth:
            self.parts.append(f"&#{name};")


def lesson_body_of(page):
    parser = LessonBody()
    parser.feed(page)
    return "".join(parser.parts)


DANGEROUS = {
    "script": "Hello <script>alert('xss')</script> world",
    "onerror": '<img src="https://example.org/x.png" onerror="alert(1)">',
    "javascript-link": "[click me](javascript:alert(1))",
    "javascript-html-link": '<a href="javascript:alert(1)">click</a>',
    "javascript-entity-link": '<a href="&#106;avascript:alert(1)">click</a>',
    "javascript-tab-link": '<a href="java\tscript:alert(1)">click</a>',
    "iframe": '<iframe src="https://evil.example.org/"></iframe>',
    "style-attribute": '<p style="background:url(https://evil.example.org/)">styled</p>',
    "style-tag": "<style>body { display: none }</style>",
    "data-image": "![pixel](data:image/png;base64,iVBORw0KGgo=)",
    "data-link": "[open](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "svg-onload": "<svg onload=alert(1)>",
    "form": '<form action="https://evil.example.org/"><input name="password"></form>',
}


@pytest.mark.parametrize("source", DANGEROUS.values(), ids=DANGEROUS.keys())
def test_render_markdown_drops_dangerous_markup(source):
    html = render_markdown(source)
    assert problems_in(html) == []
    assert "<script" not in html.lower()


@pytest.mark.django_db
def test_saved_lesson_body_html_is_sanitised_and_so_is_the_page(client, log_in_student):
    body = "\n\n".join(["# Title", "Safe **bold** text.", *DANGEROUS.values()])
    lesson = LessonFactory(body=body)
    log_in_student(course=lesson.course)

    lesson.refresh_from_db()
    assert problems_in(lesson.body_html) == []
    assert "<strong>bold</strong>" in lesson.body_html

    page = client.get(lesson.get_absolute_url()).content.decode()
    rendered = lesson_body_of(page)
    assert "<strong>bold</strong>" in rendered
    assert problems_in(rendered) == []
    assert "<script" not in rendered.lower()
    assert "javascript:" not in rendered.lower()
    assert "evil.example.org" not in rendered


@pytest.mark.django_db
def test_faq_answers_and_course_description_are_sanitised(client):
    entry = FAQEntryFactory(answer=DANGEROUS["script"] + "\n\n" + DANGEROUS["onerror"])
    entry.course.description = DANGEROUS["javascript-link"]
    entry.course.save()
    assert problems_in(entry.answer_html) == []
    assert problems_in(entry.course.description_html) == []


def test_fenced_code_keeps_its_text_and_newlines():
    code = 'def greet(name):\n    if name < "m":\n        return f"<b>{name}</b> & co"\n\n    return None'
    html = render_markdown(f"Before.\n\n```python\n{code}\n```\n\nAfter.")

    match = re.search(r"<pre><code([^>]*)>(.*?)</code></pre>", html, flags=re.S)
    assert match, html
    assert 'class="language-python"' in match.group(1)
    text = "".join(parse(match.group(2)).text)
    assert text == code + "\n"
    assert "<b>" not in match.group(2)  # the code's markup is text, escaped


@pytest.mark.django_db
def test_fenced_code_survives_on_the_lesson_page(client):
    code = "const pc = new RTCPeerConnection();\n  pc.close();"
    lesson = LessonFactory(body=f"```javascript\n{code}\n```", is_free_preview=True)
    page = client.get(lesson.get_absolute_url()).content.decode()
    assert (
        '<pre><code class="language-javascript">const pc = new RTCPeerConnection();\n  pc.close();\n</code></pre>'
        in (page)
    )


def test_code_block_class_keeps_only_a_language_name():
    html = render_markdown('<pre><code class="language-js evil" onclick="x()">x</code></pre>')
    assert problems_in(html) == []
    assert 'class="language-js"' in html


def test_every_sample_payload_in_a_code_block_reads_back_as_it_was_typed():
    """Sanitising escapes code rather than deleting it: a student can quote any payload and see it."""
    for payload in load_payloads():
        fence = "~~~~" if "```" in payload else "```"
        html = render_markdown(f"{fence}html\n{payload}\n{fence}")
        assert problems_in(html) == [], payload
        match = re.fullmatch(r'\s*<pre><code class="language-html">(.*)</code></pre>\s*', html, flags=re.S)
        assert match, html
        assert "".join(parse(match.group(1)).text) == payload + "\n"


@pytest.mark.parametrize("payload", load_payloads())
def test_xss_payload_renders_harmless(payload):
    html = render_markdown(payload)
    assert "<script" not in html.lower()
    assert problems_in(html) == []


@pytest.mark.parametrize("payload", load_payloads()[:20])
def test_xss_payload_inside_a_markdown_link_renders_harmless(payload):
    html = render_markdown(f"[label]({payload}) and ![alt]({payload})")
    assert "<script" not in html.lower()
    assert problems_in(html) == []


@pytest.mark.parametrize(
    "source",
    [
        "![pixel](https://track.example.com/p.gif?reader=1)",
        "![pixel](//track.example.com/p.gif)",
        '<img src="https://track.example.com/p.gif" alt="pixel">',
        '<img src="http://track.example.com/p.gif">',
        '<img src="/\\track.example.com/p.gif">',
    ],
)
def test_an_image_of_another_host_does_not_load_by_itself(source):
    """A tracking pixel in a post would tell its owner who read it: another host's image is a link at most."""
    html = render_markdown(source)
    assert [attrs for tag, attrs in parse(html).tags if tag == "img" and dict(attrs).get("src")] == []
    assert "track.example.com" not in html or '<a href="' in html


def test_an_image_of_the_site_itself_shows():
    assert render_markdown("![diagram](/media/diagram.png)") == '<p><img src="/media/diagram.png" alt="diagram"></p>'
