"""Calendar downloads: a session's .ics (logged in), the personal feed (the token is the key), its settings."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from enrollment.access import CourseAccess

from . import calendar, selectors, services
from .models import CalendarFeed, Session

CALENDAR_CONTENT_TYPE = "text/calendar; charset=utf-8"
FEED_TOKEN_RESET = "Your calendar feed has a new address. The old one no longer works."
FEED_SCOPE_SAVED = "Your calendar feed now holds: {scope}."


class FeedScopeForm(forms.ModelForm):
    class Meta:
        model = CalendarFeed
        fields = ["scope"]
        widgets = {"scope": forms.RadioSelect}
        labels = {"scope": "The feed holds"}


def _calendar_response(body: bytes, *, filename: str | None = None) -> HttpResponse:
    response = HttpResponse(body, content_type=CALENDAR_CONTENT_TYPE)
    if filename:
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@login_required
def session_ics(request, course_slug, pk):
    """Download one session as an .ics file: for those who may see the course's office hours, of their own run.

    A session of another run of the course is 404, as on the office-hours pages (its title and time are not theirs).
    """
    session = get_object_or_404(Session.objects.select_related("run__course"), pk=pk, run__course__slug=course_slug)
    course = session.run.course
    access = CourseAccess(request.user, course)
    decision = access.office_hours()
    if not decision:
        raise PermissionDenied(decision.message)
    session = selectors.session_or_404(course=course, access=access, pk=pk)
    body = calendar.build_calendar([session], name=f"{session.run.course.title} office hours")
    return _calendar_response(body, filename=f"office-hours-{session.starts_at:%Y%m%d-%H%M}.ics")


@never_cache
def feed(request, token):
    """The personal feed a calendar app subscribes to; no login, an unknown or reset token is a 404."""
    try:
        user_feed = CalendarFeed.objects.select_related("user").get(token=token)
    except CalendarFeed.DoesNotExist:
        raise Http404("No such calendar feed.") from None
    body = calendar.build_calendar(selectors.feed_sessions(user_feed), name="Office hours")
    return _calendar_response(body)


@login_required
def feed_settings(request):
    """See and copy the feed URL, and choose what it holds."""
    user_feed = services.feed_of(request.user)
    form = FeedScopeForm(request.POST or None, instance=user_feed)
    if request.method == "POST" and form.is_valid():
        user_feed = services.set_feed_scope(user=request.user, scope=form.cleaned_data["scope"])
        messages.success(request, FEED_SCOPE_SAVED.format(scope=user_feed.get_scope_display().lower()))
        return redirect("calendar:settings")
    feed_url = request.build_absolute_uri(reverse("calendar:feed", kwargs={"token": user_feed.token}))
    return render(
        request, "officehours/calendar_settings.html", {"form": form, "feed": user_feed, "feed_url": feed_url}
    )


@login_required
@require_POST
def reset_token(request):
    services.reset_feed_token(user=request.user)
    messages.success(request, FEED_TOKEN_RESET)
    return redirect("calendar:settings")
