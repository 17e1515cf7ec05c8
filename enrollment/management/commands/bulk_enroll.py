"""Enroll the students of a CSV file in a run: `manage.py bulk_enroll FILE --run SLUG`."""

import sys

from django.core.management.base import BaseCommand, CommandError
from django.db import IntegrityError

from enrollment.bulk import CONCURRENT_CHANGE, PROBLEMS, RosterError, apply_roster, get_run, parse_roster, report_lines
from enrollment.models import Tier

CANNOT_READ = "Cannot read {file}: {reason}."


class Command(BaseCommand):
    help = (
        "Enroll the students listed in a CSV file (columns: email, and optionally first_name, last_name, tier) "
        "in a run. The whole file is checked first: if any row is wrong, nothing changes. Users are created "
        "as needed; an enrollment is upgraded but never downgraded. Safe to run again with the same file."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="the CSV file (UTF-8), or - to read standard input")
        parser.add_argument("--run", required=True, metavar="RUN_SLUG", help="the slug of the run to enroll in")
        parser.add_argument(
            "--tier",
            choices=Tier.Kind.values,
            help="the tier of rows that name none (default: the run's standard tier)",
        )
        parser.add_argument("--dry-run", action="store_true", help="check and count, but change nothing")
        parser.add_argument(
            "--no-email", action="store_true", help="send no pre-launch email to these students, now or later"
        )

    def handle(self, *args, file, run, tier, dry_run, no_email, verbosity, **options):
        progress = self._progress if verbosity >= 1 else None
        name = "standard input" if file == "-" else file
        try:
            data = self._read(file)
            run = get_run(run)
            roster = parse_roster(data, run=run, tier_kind=tier, progress=progress)
        except RosterError as error:
            lines = [PROBLEMS.format(count=len(error.errors), name=name), *(f"  {e}" for e in error.errors)]
            raise CommandError("\n".join(lines)) from None
        try:
            result = apply_roster(roster=roster, send_email=not no_email, dry_run=dry_run, progress=progress)
        except IntegrityError:
            # A user or enrollment inserted between our read and our write: the transaction was rolled back.
            raise CommandError(CONCURRENT_CHANGE) from None
        self._report(result, run)

    def _read(self, file) -> bytes | str:
        if file == "-":
            stream = getattr(sys.stdin, "buffer", sys.stdin)
            return stream.read()
        try:
            with open(file, "rb") as handle:
                return handle.read()
        except OSError as error:
            raise CommandError(CANNOT_READ.format(file=file, reason=error.strerror)) from None

    def _progress(self, message):
        self.stderr.write(message)
        self.stderr.flush()

    def _report(self, result, run):
        for line in report_lines(result, run):
            self.stdout.write(line)
        if not result.dry_run:
            self.stdout.write(self.style.SUCCESS("Done."))
