import zoneinfo

from django import forms

from .models import User, timezone_choices

UNKNOWN_ZONE = "“{zone}” is not a time zone we know. Choose one from the list, e.g. Europe/Berlin or America/New_York."


def clean_zone(value: str) -> str:
    """Return the IANA zone name, or raise the form error every zone field shows."""
    zone = (value or "").strip()
    if zone not in zoneinfo.available_timezones():
        raise forms.ValidationError(UNKNOWN_ZONE.format(zone=zone[:64]), code="unknown_zone")
    return zone


class TimezoneForm(forms.Form):
    """One zone, posted by the offer of the browser's zone (base.html) or the profile."""

    timezone = forms.CharField(max_length=64)

    def clean_timezone(self):
        return clean_zone(self.cleaned_data["timezone"])


class ProfileForm(forms.ModelForm):
    # A plain field with the zones as a drop-down (the page adds a search box above it), checked by clean_zone:
    # an unknown zone gets the same clear message as everywhere.
    timezone = forms.CharField(label="Time zone", max_length=64, help_text="Times on the site are shown in this zone.")

    class Meta:
        model = User
        fields = ["first_name", "last_name", "timezone"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["timezone"].widget = forms.Select(choices=timezone_choices())

    def clean_timezone(self):
        return clean_zone(self.cleaned_data["timezone"])
