from django import forms
from django.contrib import admin
from django.utils import timezone

from accounts.models import normalize_email

from . import announcement_admin  # noqa: F401  (registers the announcement admin)
from .models import Enrollment, Payment, Run, SentEmail, StripeEvent, Tier
from .services import enroll, get_or_create_student


class TierInline(admin.StackedInline):
    model = Tier
    extra = 0
    fields = [("kind", "name"), ("price", "currency"), ("months", "includes_office_hours"), "description",
              "stripe_price_id"]  # fmt: skip


@admin.register(Run)
class RunAdmin(admin.ModelAdmin):
    list_display = ["title", "course", "starts_at", "enrollment_open", "prelaunch_email_days"]
    list_filter = ["course", "enrollment_open"]
    search_fields = ["title", "slug"]
    prepopulated_fields = {"slug": ["title"]}
    inlines = [TierInline]


class EnrollmentForm(forms.ModelForm):
    """Enroll one student by email; the account is created if it does not exist yet.

    The form only checks; `EnrollmentAdmin.save_model` enrolls through the service, as every other way in does.
    """

    email = forms.EmailField(help_text="The student's email address. A new account is created if needed.")

    class Meta:
        model = Enrollment
        fields = ["email", "run", "tier", "source", "status", "extended_until"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["email"].initial = self.instance.user.email
            self.fields["email"].disabled = True

    def clean(self):
        cleaned = super().clean()
        email = normalize_email(cleaned.get("email"))
        run = cleaned.get("run")
        if not self.instance.pk and email and run:
            if Enrollment.objects.filter(user__email__iexact=email, run=run).exists():
                raise forms.ValidationError(f"{email} is already enrolled in {run}.")
        # A tier of another run is refused by Enrollment.clean, which the form runs next.
        return cleaned


class SentEmailInline(admin.TabularInline):
    model = SentEmail
    fields = ["kind", "status", "queued_at", "sent_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Enrollment)
class EnrollmentAdmin(admin.ModelAdmin):
    form = EnrollmentForm
    list_display = ["user", "run", "tier", "status", "source", "enrolled_at", "access_ends"]
    list_filter = ["run", "tier__kind", "status", "source"]
    list_select_related = ["user", "run", "tier"]
    search_fields = ["user__email", "user__first_name", "user__last_name"]
    date_hierarchy = "enrolled_at"
    inlines = [SentEmailInline]

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        # As everywhere: the student found case-insensitively or created with no usable password (they log in by
        # code), and the pre-launch email queued at once if its time has passed.
        now = timezone.now()
        user, _ = get_or_create_student(email=form.cleaned_data["email"])
        enrollment = enroll(user=user, run=obj.run, tier=obj.tier, source=obj.source, now=now)
        # The admin goes on with `obj` (inlines, history, the redirect): make it the row the service wrote, then
        # apply what the add form sets beyond the service (a status other than active, an extension) as an edit;
        # unless the row is not new (enrolled meanwhile by someone else, after the form's check), which it leaves.
        obj.pk, obj.user, obj.enrolled_at = enrollment.pk, user, enrollment.enrolled_at
        edited = [name for name in ("status", "extended_until") if getattr(obj, name) != getattr(enrollment, name)]
        if edited and enrollment.enrolled_at == now:
            obj.save(update_fields=edited)

    @admin.display(description="access ends")
    def access_ends(self, enrollment):
        return enrollment.access_ends_at


@admin.register(SentEmail)
class SentEmailAdmin(admin.ModelAdmin):
    """What was sent to whom, and when: read-only."""

    list_display = ["enrollment", "kind", "status", "queued_at", "sent_at"]
    list_filter = ["kind", "status", "enrollment__run"]
    list_select_related = ["enrollment__user", "enrollment__run"]
    search_fields = ["enrollment__user__email"]
    date_hierarchy = "queued_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Payment)
class PaymentAdmin(admin.ModelAdmin):
    list_display = ["checkout_session_id", "email", "amount_total", "currency", "paid_at", "refunded_at", "enrollment"]
    list_filter = ["currency", ("refunded_at", admin.EmptyFieldListFilter)]
    search_fields = ["email", "checkout_session_id", "reference"]
    list_select_related = ["enrollment__user", "enrollment__run"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(StripeEvent)
class StripeEventAdmin(admin.ModelAdmin):
    list_display = ["event_id", "type", "received_at"]
    list_filter = ["type"]
    search_fields = ["event_id"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
