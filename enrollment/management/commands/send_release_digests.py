"""Queue and send the release digests that are due now: what the beat job does, by hand (e.g. with `make run`)."""

from django.core.management.base import BaseCommand

from enrollment import release_digests


class Command(BaseCommand):
    help = "Queue each student's release digest that is due (their local morning) and send the queued ones."

    def handle(self, *args, **options):
        queued = release_digests.queue_due()
        sent = release_digests.deliver_queued()
        self.stdout.write(f"Release digests: {queued} queued, {sent} sent.")
