"""Which course emails a student gets, and the signed one-click link that turns one kind off.

Every kind (CourseEmailOptOut.Kind: announcements and release digests; another joins with a choice there and a
line in WANTED_LABELS) is on until the student turns it off, on the email settings page or with the link in
each email. A turned-off kind is a CourseEmailOptOut row: senders exclude those users when they queue and
check again when they send.
"""

from django.core import signing
from django.db.models import Exists, OuterRef
from django.urls import reverse

from accounts.models import User
from courseweb import mail

from .models import CourseEmailOptOut

Kind = CourseEmailOptOut.Kind
UNSUBSCRIBE_SALT = "enrollment.course-email.unsubscribe"
# The two answers of each kind on the settings page: (on, off).
WANTED_LABELS = {
    Kind.ANNOUNCEMENTS: (
        "An email for each announcement",
        "No announcement email (announcements still show on the course home)",
    ),
    Kind.DIGESTS: (
        "A daily email when lessons open or are updated (at most one a day)",
        "No release digest (new lessons are still marked on the course home)",
    ),
}
INVALID_UNSUBSCRIBE_LINK = (
    "This unsubscribe link is not valid: it may have been cut short or changed. Nothing was changed. "
    "Copy the whole link from the email, or choose your email in your settings."
)
UNSUBSCRIBED = "You will get no more {kind} by email."


def opted_out(kind: str, *, user_field: str = "user") -> Exists:
    """An expression for querysets: has the row's user (its field `user_field`) turned `kind` off?"""
    return Exists(CourseEmailOptOut.objects.filter(user=OuterRef(user_field), kind=kind))


def wanted(user) -> dict[str, bool]:
    """Each kind of course email: does the user get it?"""
    off = set(CourseEmailOptOut.objects.filter(user=user).values_list("kind", flat=True))
    return {kind: kind not in off for kind in Kind.values}


def set_wanted(*, user, kind: str, wanted: bool) -> None:
    """Turn one kind of course email on or off for the user; idempotent."""
    if kind not in Kind.values:
        raise ValueError(f"Unknown course email {kind!r}")
    if wanted:
        CourseEmailOptOut.objects.filter(user=user, kind=kind).delete()
    else:
        CourseEmailOptOut.objects.get_or_create(user=user, kind=kind)


def unsubscribe_token(user, kind: str) -> str:
    """A signed token that turns one kind of course email off for one user."""
    return mail.unsubscribe_token(salt=UNSUBSCRIBE_SALT, user_id=user.pk, k=str(kind))


def unsubscribe_url(user, kind: str) -> str:
    return mail.absolute(reverse("course_email:unsubscribe", args=[unsubscribe_token(user, kind)]))


def read_unsubscribe_token(token: str) -> tuple[User, str]:
    """Return the user and kind a token names; raise signing.BadSignature if it is not valid."""
    data = mail.read_unsubscribe_token(token, salt=UNSUBSCRIBE_SALT)
    kind = data.get("k")
    user = User.objects.filter(pk=data["u"]).first()
    if user is None or kind not in Kind.values:
        raise signing.BadSignature("Unknown user or kind of email")
    return user, kind
