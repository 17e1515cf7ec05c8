import zoneinfo

from django import forms

UNKNOWN_ZONE = "That is not a time zone we know."


class QuestionForm(forms.Form):
    text = forms.CharField(
        label="Your question", max_length=2000, widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Sent to the instructor before the session; others can upvote it.",
    )  # fmt: skip


class TimezoneForm(forms.Form):
    timezone = forms.CharField(max_length=64)

    def clean_timezone(self):
        zone = self.cleaned_data["timezone"].strip()
        if zone not in zoneinfo.available_timezones():
            raise forms.ValidationError(UNKNOWN_ZONE)
        return zone
