from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from . import services
from .forms import ProfileForm, TimezoneForm

PROFILE_SAVED = "Your profile was saved."
TIMEZONE_SAVED = "Times are now shown in {zone}."


@login_required
def profile(request):
    form = ProfileForm(request.POST or None, instance=request.user)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, PROFILE_SAVED)
        return redirect("profile")
    return render(request, "accounts/profile.html", {"form": form})


@require_POST
@login_required
def set_timezone(request):
    """Save one zone (the browser's, offered on every page) and go back to the page it was offered on."""
    form = TimezoneForm(request.POST)
    if form.is_valid():
        services.set_timezone(user=request.user, zone=form.cleaned_data["timezone"])
        messages.success(request, TIMEZONE_SAVED.format(zone=request.user.timezone))
    else:
        messages.error(request, form.errors["timezone"][0])
    back = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return redirect(back)
    return redirect("profile")
