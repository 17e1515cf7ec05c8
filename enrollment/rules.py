"""The enrollment rule, in one place: what enrolling a student in a run with a tier does to the row they have.

`decide` is a pure function of rows the caller has already fetched (and locked): it reads and writes
nothing. `services.apply_enrollment` (one student) and `bulk.apply_roster` (a roster at a time) both
ask it, and write what it decides.
"""

from .models import Enrollment, Tier

CREATED = "created"
REACTIVATED = "reactivated"
UPGRADED = "upgraded"
UNCHANGED = "unchanged"
SKIPPED = "skipped"

NO_DOWNGRADE = "already enrolled in {current}; an enrollment is never downgraded"
INACTIVE = "the enrollment is {status}; reactivate it in the admin"
WRONG_RUN = "the tier {tier} belongs to another run"


def decide(enrollment: Enrollment | None, tier: Tier, *, reactivate: bool = False) -> tuple[str, str]:
    """Return (outcome, reason) of enrolling in `tier` a student whose enrollment in its run is `enrollment`.

    Create one if there is none; upgrade to a tier of higher rank, never downgrade; leave a cancelled
    or refunded enrollment alone unless `reactivate` (a new payment) says otherwise. The reason is
    given for SKIPPED only. `enrollment.tier` must be loaded.
    """
    if enrollment is None:
        return CREATED, ""
    if enrollment.status != Enrollment.Status.ACTIVE:
        if reactivate:
            return REACTIVATED, ""
        return SKIPPED, INACTIVE.format(status=enrollment.get_status_display().lower())
    if enrollment.tier_id == tier.pk:
        return UNCHANGED, ""
    if tier.rank > enrollment.tier.rank:
        return UPGRADED, ""
    return SKIPPED, NO_DOWNGRADE.format(current=enrollment.tier.name)
