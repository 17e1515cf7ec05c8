"""Queue and send the weekly pulses that are due now: what the beat job does, by hand (e.g. with `make run`)."""

from django.core.management.base import BaseCommand

from dashboard import pulse


class Command(BaseCommand):
    help = (
        "Queue each staff member's weekly pulse that is due (from Monday 08:00 in their zone, once a week) "
        "and send the queued ones; a quiet week is skipped."
    )

    def handle(self, *args, **options):
        queued = pulse.queue_due()
        sent = pulse.deliver_queued()
        self.stdout.write(f"Weekly pulses: {queued} queued, {sent} sent.")
