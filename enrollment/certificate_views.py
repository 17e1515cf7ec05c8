"""The certificate pages: a student's own (issue it, download it) and the public verification page."""

from django import forms
from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from courses.views import course_view
from courseweb import mail

from . import certificates
from .access import CourseAccess
from .certificate_pdf import certificate_pdf
from .models import CERTIFICATE_NAME_MAX_LENGTH, Certificate

REVOKED = "Your certificate of this course was revoked on {when}, so it can no longer be downloaded."


class CertificateNameForm(forms.Form):
    name = forms.CharField(
        label="Your name, as it should be printed",
        max_length=CERTIFICATE_NAME_MAX_LENGTH,
        help_text="It cannot be changed once the certificate is issued.",
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )

    def clean_name(self):
        try:
            return certificates.clean_name(self.cleaned_data["name"])
        except certificates.CertificateRefused as refused:
            raise forms.ValidationError(refused.message) from refused


def verify_url(certificate) -> str:
    return mail.absolute(certificate.get_absolute_url())


def _profile_name(user) -> str:
    return user.get_full_name().strip() or user.email.split("@")[0]


@require_http_methods(["GET", "POST"])
@course_view(CourseAccess.course_home)
def certificate(request, course, access):
    """The student's certificate: what is left to earn it, the form to issue it, or the issued one."""
    if access.enrollment is None:  # staff: certificates are the students'; issued ones are in the admin
        return render(request, "enrollment/certificate.html", {"course": course, "for_staff": True})
    issued = certificates.certificate_of(user=request.user, course=course)
    standing = None if issued else certificates.standing(user=request.user, course=course)
    form = CertificateNameForm(initial={"name": _profile_name(request.user)})
    status = 200
    if issued is None and not standing.has_earned:
        status = 403  # refused: nothing is created, the page says what is left
    elif issued is None and request.method == "POST":
        form = CertificateNameForm(request.POST)
        if form.is_valid():
            try:
                certificates.issue(
                    user=request.user, course=course, run=access.enrollment.run, name=form.cleaned_data["name"]
                )
            except certificates.CertificateRefused as refused:
                form.add_error(None, refused.message)
            else:
                messages.success(request, certificates.ISSUED)
                return redirect("certificates:mine", course.slug)
        status = 400
    elif issued is not None and request.method == "POST":
        return redirect("certificates:mine", course.slug)  # issued already: a second click finds the same one
    context = {
        "course": course,
        "certificate": issued,
        "standing": standing,
        "form": form,
        "verify_url": verify_url(issued) if issued else "",
    }
    return render(request, "enrollment/certificate.html", context, status=status)


@require_GET
@course_view(CourseAccess.course_home)
def certificate_download(request, course, access, verification_id):
    """The PDF of the student's own certificate (another student's is 404; a revoked one is gone)."""
    owner = {} if request.user.is_staff else {"user": request.user}
    certificate = get_object_or_404(
        Certificate.objects.select_related("course", "run", "user"), verification_id=verification_id, course=course,
        **owner,
    )  # fmt: skip
    if certificate.is_revoked:
        context = {"course": course, "certificate": certificate}
        return render(request, "enrollment/certificate_revoked.html", context, status=410)
    response = HttpResponse(certificate_pdf(certificate, verify_url=verify_url(certificate)),
                            content_type="application/pdf")  # fmt: skip
    response["Content-Disposition"] = f'inline; filename="{course.slug}-certificate.pdf"'
    response["Cache-Control"] = "private, no-store"
    return response


@require_GET
def verify(request, verification_id):
    """Anyone, logged in or not: whose certificate this is, of which course, completed when; or that it was revoked."""
    certificate = certificates.verifiable(verification_id)
    if certificate is None:
        raise Http404("No certificate has this address.")
    context = {
        "certificate": certificate,
        "completed_on": certificates.completed_on(certificate),
        "verify_url": request.build_absolute_uri(reverse("certificates:verify", args=[verification_id])),
    }
    return render(request, "enrollment/certificate_verify.html", context)
