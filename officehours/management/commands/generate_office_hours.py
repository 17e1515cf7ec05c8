from django.core.management.base import BaseCommand, CommandError

from enrollment.models import Run
from officehours.scheduling import generate_sessions, office_hours_window


class Command(BaseCommand):
    help = "Create the missing office-hours sessions of a run from its weekly slots. Safe to run again."

    def add_arguments(self, parser):
        parser.add_argument("--run", required=True, metavar="RUN_SLUG", help="The slug of the run.")

    def handle(self, *args, **options):
        run = Run.objects.filter(slug=options["run"]).first()
        if run is None:
            raise CommandError(f"No run with the slug {options['run']!r}.")
        window = office_hours_window(run)
        if window is None:
            raise CommandError(f"Run {run.slug!r} has no tier with office hours: no sessions to generate.")
        slots = run.office_hour_slots.count()
        result = generate_sessions(run=run)
        self.stdout.write(
            self.style.SUCCESS(
                f"{run.slug}: {result.created} sessions created, {result.existing} already existed "
                f"({slots} weekly slots, office hours until {window[1]:%Y-%m-%d %H:%M} UTC)."
            )
        )
