"""The admin of certificates: students issue them; the instructor may revoke one, with a reason."""

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.utils.html import format_html

from . import certificates
from .models import Certificate

REVOKED = "The certificate is revoked: its verification page says so, and the student can no longer download it."


class CertificateForm(forms.ModelForm):
    """The one change the admin makes to a certificate: revoke it, with a reason."""

    class Meta:
        model = Certificate
        fields = ["revoked_reason"]
        labels = {"revoked_reason": "Revoke: reason"}
        help_texts = {
            "revoked_reason": "Write why, and save, to revoke the certificate: the verification page then says it "
            "was revoked and the student can no longer download it. Not shown to the public."
        }

    def clean_revoked_reason(self):
        reason = self.cleaned_data["revoked_reason"].strip()
        if not reason and self.instance.revoked_at is not None:
            raise forms.ValidationError(certificates.NO_REASON)
        return reason


@admin.register(Certificate)
class CertificateAdmin(admin.ModelAdmin):
    """Issued by the students themselves; the instructor may revoke one (a revoked certificate stays revoked)."""

    form = CertificateForm
    list_display = ["name", "user", "course", "run", "completed_at", "issued_at", "revoked_at"]
    list_filter = ["course", "run", ("revoked_at", admin.EmptyFieldListFilter)]
    list_select_related = ["user", "course", "run"]
    search_fields = ["name", "user__email", "verification_id"]
    date_hierarchy = "issued_at"
    readonly_fields = ["name", "user", "course", "run", "completed_at", "issued_at", "verification_page", "revoked_at"]
    fields = readonly_fields + ["revoked_reason"]

    @admin.display(description="verification page")
    def verification_page(self, obj):
        url = obj.get_absolute_url()
        return format_html('<a href="{}">{}</a>', url, settings.SITE_URL + url)

    def has_add_permission(self, request):
        return False

    def save_model(self, request, obj, form, change):
        reason = form.cleaned_data["revoked_reason"]
        if reason:
            certificates.revoke(certificate=obj, reason=reason)
            messages.success(request, REVOKED)
        # Nothing else is editable, and nothing is saved without a reason.
