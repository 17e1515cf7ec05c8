"""Helpers shared by the enrollment tests."""

from accounts.models import User
from enrollment.models import Enrollment, SentEmail


def roster_state():
    """Everything enrolling from a roster may write (users, enrollments, emails), to compare before and after."""
    return {
        "users": sorted(User.objects.values_list("email", "first_name", "last_name", "password")),
        "enrollments": sorted(Enrollment.objects.values_list("user__email", "run_id", "tier_id", "status")),
        "emails": sorted(SentEmail.objects.values_list("enrollment_id", "kind", "status")),
    }
