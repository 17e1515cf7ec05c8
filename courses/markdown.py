"""Markdown to sanitised HTML, done once when content is saved.

The parser is markdown-it-py (CommonMark, with tables and strikethrough): its time grows linearly with the
input, also for what students can type on purpose. Python-Markdown took quadratic time on runs of "[" (20,000
of them: about 70 s of a worker), so one forum post could tie up the site.
"""

import nh3
from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml

ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "dd", "del", "div", "dl", "dt", "em", "h2", "h3", "h4",
    "h5", "h6", "hr", "i", "img", "kbd", "li", "ol", "p", "pre", "s", "span", "strong", "sub", "sup",
    "table", "tbody", "td", "th", "thead", "tr", "ul",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "code": {"class"},
    "th": {"align"},
    "td": {"align"},
    "abbr": {"title"},
}
URL_SCHEMES = {"http", "https", "mailto"}


def is_on_site(url: str) -> bool:
    """Whether the address is a path of this site ("/media/x.png"), not another host's ("//x.org/p.gif")."""
    return url.startswith("/") and not url.startswith("//") and not url.startswith("/\\")


def _filter_attribute(tag, attribute, value):
    # Keep only the "language-xyz" class that fenced code blocks carry.
    if tag == "code" and attribute == "class":
        kept = [name for name in value.split() if name.startswith("language-") and name[9:].isalnum()]
        return " ".join(kept) or None
    # An image of another host is a request every reader's browser makes: a tracking pixel tells its owner who
    # read the post, and when. Only the site's own images load by themselves.
    if tag == "img" and attribute == "src" and not is_on_site(value):
        return None
    return value


def _image(self, tokens, idx, options, env):
    """Render ![alt](src): the site's own images as images, another host's as a link the reader may follow."""
    token = tokens[idx]
    src = token.attrGet("src") or ""
    if is_on_site(src):
        return self.image(tokens, idx, options, env)
    alt = self.renderInlineAsText(token.children or [], options, env) or "image"
    return f'<a href="{escapeHtml(src)}">{escapeHtml(alt)} (image)</a>'


# Raw HTML is passed to the sanitiser, which keeps only ALLOWED_TAGS (as before the parser changed).
# Links of every scheme become links, and the sanitiser drops a forbidden address (the text of
# "[click](javascript:…)" stays a word, not Markdown source showing the script).
_PARSER = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])
_PARSER.validateLink = lambda url: True
_PARSER.add_render_rule("image", _image)


def render_markdown(text: str) -> str:
    """Return sanitised HTML for Markdown text: no script, handler or javascript: URL survives."""
    html = _PARSER.render(text or "").strip()  # no trailing newline: the HTML is stored and inlined as it is
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        attribute_filter=_filter_attribute,
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )
