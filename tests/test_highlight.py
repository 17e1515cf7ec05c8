"""courseweb.highlight: matched words marked, everything else escaped."""

from courseweb.highlight import MARK_END, MARK_START, excerpt, highlight, marked, query_words


def test_query_words_drop_operators_and_punctuation():
    assert query_words('"remote peer" -video OR <b>') == ["remote", "peer", "video", "OR", "b"]
    assert len(query_words("a " * 50)) == 10


def test_highlight_escapes_and_marks_case_insensitively():
    html = highlight("<b>Jitter</b> & jitter", ["jitter"])
    assert html == "&lt;b&gt;<mark>Jitter</mark>&lt;/b&gt; &amp; <mark>jitter</mark>"


def test_marked_turns_only_the_private_marks_into_tags():
    assert marked(f"<i>{MARK_START}x{MARK_END}</i>") == "&lt;i&gt;<mark>x</mark>&lt;/i&gt;"


def test_excerpt_cuts_around_the_first_match():
    text = "word " * 200 + "needle " + "word " * 200
    html = excerpt(text, ["needle"], size=100)
    assert html.startswith("… ") and html.endswith(" …") and "<mark>needle</mark>" in html
    assert len(html) < 160
