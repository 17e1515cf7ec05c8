import uuid

from django import forms

from courses.models import Lesson

from .models import Board
from .services import MAX_BODY_CHARS

BODY_HELP = "Markdown. Put code, SDP and logs between lines of three backticks (```)."


class TokenMixin(forms.Form):
    # A fresh token each time the form is shown: a resubmission of the same page finds the post it made.
    submission_token = forms.UUIDField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial.setdefault("submission_token", uuid.uuid4())


class BoardChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return obj.title


class ThreadForm(TokenMixin, forms.Form):
    board = BoardChoiceField(queryset=Board.objects.none(), empty_label=None)
    title = forms.CharField(max_length=200)
    body = forms.CharField(label="Your question or message", widget=forms.Textarea(attrs={"rows": 8}),
                           help_text=BODY_HELP, max_length=MAX_BODY_CHARS)  # fmt: skip
    lesson = forms.SlugField(widget=forms.HiddenInput, required=False)
    video_seconds = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=0, max_value=24 * 3600)

    def __init__(self, *args, course, **kwargs):
        super().__init__(*args, **kwargs)
        self.course = course
        self.fields["board"].queryset = Board.objects.filter(course=course)

    def clean_lesson(self):
        slug = self.cleaned_data.get("lesson")
        if not slug:
            return None
        lesson = Lesson.objects.filter(course=self.course, slug=slug).first()
        if lesson is None:
            raise forms.ValidationError("That lesson is not part of this course.")
        return lesson


class ReplyForm(TokenMixin, forms.Form):
    body = forms.CharField(label="Your reply", widget=forms.Textarea(attrs={"rows": 6}), help_text=BODY_HELP,
                           max_length=MAX_BODY_CHARS)  # fmt: skip


class EditPostForm(forms.Form):
    body = forms.CharField(label="Your post", widget=forms.Textarea(attrs={"rows": 10}), help_text=BODY_HELP,
                           max_length=MAX_BODY_CHARS)  # fmt: skip
