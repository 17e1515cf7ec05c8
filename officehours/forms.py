from django import forms


class QuestionForm(forms.Form):
    text = forms.CharField(
        label="Your question", max_length=2000, widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Sent to the instructor before the session; others can upvote it.",
    )  # fmt: skip

