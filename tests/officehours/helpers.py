"""Office-hours scenes the reminder and change-email tests share."""

from datetime import timedelta

from django.utils import timezone

from officehours.models import Registration
from tests.factories import OfficeHoursTierFactory, RunFactory, enrolled_students


def office_hours_run():
    """A run that started three days ago, and its office-hours tier."""
    run = RunFactory(starts_at=timezone.now() - timedelta(days=3))
    return run, OfficeHoursTierFactory(run=run)


def sign_up_many(count, *, session, tier):
    """Create `count` office-hours students signed up for the session; return their addresses."""
    users = enrolled_students(count, run=tier.run, tier=tier)
    Registration.objects.bulk_create(Registration(session=session, user=user) for user in users)
    return {user.email for user in users}
