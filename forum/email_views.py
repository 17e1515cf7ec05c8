"""The forum email settings page and the one-click unsubscribe link (signed, no login needed)."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core import signing
from django.shortcuts import redirect, render
from django.views.decorators.csrf import csrf_exempt

from enrollment import course_email

from . import notifications, services
from .models import ForumSettings


class EmailSettingsForm(forms.ModelForm):
    class Meta:
        model = ForumSettings
        fields = ["email_mode"]
        labels = {"email_mode": "Forum email"}
        widgets = {"email_mode": forms.RadioSelect}


class CourseEmailForm(forms.Form):
    """One on/off choice per kind of course email (course_email.Kind). A kind left out of a POST is left as it is."""

    ON, OFF = "on", "off"

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, prefix="course", **kwargs)
        wanted = course_email.wanted(user)
        for kind in course_email.Kind:
            on, off = course_email.WANTED_LABELS[kind]
            self.fields[kind.value] = forms.ChoiceField(
                label=kind.label, choices=[(self.ON, on), (self.OFF, off)], required=False,
                widget=forms.RadioSelect, initial=self.ON if wanted[kind.value] else self.OFF,
            )  # fmt: skip

    def save(self, *, user):
        for kind, choice in self.cleaned_data.items():
            if choice:
                course_email.set_wanted(user=user, kind=kind, wanted=choice == self.ON)


@login_required
def email_settings(request):
    """The user's email choices: forum email, and each kind of course email (announcements)."""
    current = ForumSettings.objects.filter(user=request.user).first() or ForumSettings(user=request.user)
    form = EmailSettingsForm(request.POST or None, instance=current)
    course_form = CourseEmailForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid() and course_form.is_valid():
        services.set_email_mode(user=request.user, mode=form.cleaned_data["email_mode"])
        course_form.save(user=request.user)
        messages.success(request, notifications.EMAIL_MODE_SAVED)
        return redirect("forum_email:settings")
    return render(request, "forum/email_settings.html", {"form": form, "course_form": course_form})


# Mail clients POST the one-click unsubscribe (RFC 8058) without a CSRF token; the signed token is the authority.
@csrf_exempt
def unsubscribe(request, token):
    """GET: a page with a confirm button (link scanners must not unsubscribe anyone). POST: unsubscribe."""
    try:
        user, thread = notifications.read_unsubscribe_token(token)
    except signing.BadSignature:
        return render(request, "forum/unsubscribe_invalid.html",
                      {"message": notifications.INVALID_UNSUBSCRIBE_LINK}, status=400)  # fmt: skip
    if request.method == "POST":
        services.unsubscribe(user=user, thread=thread)
        done = (notifications.UNSUBSCRIBED_FROM_THREAD.format(title=thread.title) if thread
                else notifications.UNSUBSCRIBED_FROM_ALL)  # fmt: skip
        return render(request, "forum/unsubscribe_done.html", {"message": done, "thread": thread})
    return render(request, "forum/unsubscribe.html", {"thread": thread})
