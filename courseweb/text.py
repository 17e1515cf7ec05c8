"""Small text helpers shared by every app. This module imports no app."""


def one_line(text) -> str:
    """Return the text on one line: every run of whitespace (newlines too) becomes one space, ends trimmed.

    Titles and names end up in email subjects, where a newline would be a header injection (Django
    refuses it with BadHeaderError), and in one-line places on pages.
    """
    return " ".join(str(text or "").split())
