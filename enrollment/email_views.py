"""The one-click unsubscribe link of course email (announcements): signed, no login needed."""

from django.core import signing
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt

from . import course_email


# Mail clients POST the one-click unsubscribe (RFC 8058) without a CSRF token; the signed token is the authority.
@csrf_exempt
def unsubscribe(request, token):
    """GET: a page with a confirm button (link scanners must not unsubscribe anyone). POST: unsubscribe."""
    try:
        user, kind = course_email.read_unsubscribe_token(token)
    except signing.BadSignature:
        return render(request, "enrollment/unsubscribe_invalid.html",
                      {"message": course_email.INVALID_UNSUBSCRIBE_LINK}, status=400)  # fmt: skip
    label = course_email.Kind(kind).label.lower()
    if request.method == "POST":
        course_email.set_wanted(user=user, kind=kind, wanted=False)
        message = course_email.UNSUBSCRIBED.format(kind=label)
        return render(request, "enrollment/unsubscribe_done.html", {"message": message})
    return render(request, "enrollment/unsubscribe.html", {"kind_label": label})
