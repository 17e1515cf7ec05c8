"""Who may do what inside the forum: the one place views, templates (through forum_tags) and services ask.

Whether a user may use a course's forum at all is the access policy's (enrollment.access) and is asked
first, by the views; these predicates are the forum's own rules on top of it. Each reads only the
objects it is given (no query), so a page may ask them for every post it shows.
"""


def _is_staff(user) -> bool:
    return bool(user is not None and user.is_authenticated and user.is_staff)


def _is_author(user, thread_or_post) -> bool:
    return bool(user is not None and user.is_authenticated and thread_or_post.author_id == user.pk)


def may_see_hidden(user) -> bool:
    """Staff see hidden threads and hidden or deleted posts (marked as such); nobody else does."""
    return _is_staff(user)


def may_moderate(user) -> bool:
    """The staff tools: hide or unhide a post; pin, lock or hide a thread."""
    return _is_staff(user)


def may_add_to_faq(user, thread) -> bool:
    """Turn the thread's marked answer into an entry of the course's Q&A page: staff only."""
    return _is_staff(user)


def may_reply(user, thread) -> bool:
    """A locked thread takes replies from staff only."""
    return not thread.is_locked or _is_staff(user)


def may_mark_answer(user, thread) -> bool:
    """The person who asked, or staff, mark (or unmark) the answer."""
    return _is_author(user, thread) or _is_staff(user)


def may_edit(user, post) -> bool:
    """Only its author edits a post (staff too edit only their own)."""
    return _is_author(user, post)


def may_delete(user, post) -> bool:
    """Its author or staff delete a post."""
    return _is_author(user, post) or _is_staff(user)
