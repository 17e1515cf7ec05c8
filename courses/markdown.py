"""Markdown to sanitised HTML, done once when content is saved."""

import markdown as md
import nh3

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


def _code_class(tag, attribute, value):
    # Keep only the "language-xyz" class that fenced code blocks carry.
    if tag == "code" and attribute == "class":
        kept = [name for name in value.split() if name.startswith("language-") and name[9:].isalnum()]
        return " ".join(kept) or None
    return value


def render_markdown(text: str) -> str:
    """Return sanitised HTML for Markdown text: no script, handler or javascript: URL survives."""
    html = md.markdown(text or "", extensions=["fenced_code", "tables", "sane_lists"], output_format="html")
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        attribute_filter=_code_class,
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )
