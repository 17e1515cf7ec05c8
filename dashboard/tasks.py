"""Celery tasks of the dashboard: the instructor's weekly pulse."""

from celery import shared_task

from . import pulse

# The pulse's beat tick comes every WEEKLY_PULSE_PERIOD seconds; a tick older than that is dropped (the next does it).
WEEKLY_PULSE_PERIOD = 3600


@shared_task(expires=WEEKLY_PULSE_PERIOD - 60)
def send_weekly_pulses():
    """Beat job: queue each staff member's weekly pulse that has come due (Monday morning in their zone), then send.

    Safe to run twice, or on two workers at once (see dashboard.pulse). Not retried on SMTP errors: what was
    not sent is still queued at the next tick.
    """
    return pulse.send_due()
