#!/usr/bin/env python
"""bulk_enroll throughput: a CSV of 10,000 students into one run, and a plain COPY of the same file for scale.

Part of `make bench` (bench/bench.py calls it after the page measurements). On its own, with the same
scratch-database rules as bench.py (DATABASE_URL names a Postgres database that does not exist yet and is
created and dropped, else a temporary SQLite file):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/courseweb_bench_bulk .venv/bin/python bench/bulk_enroll.py
    .venv/bin/python bench/bulk_enroll.py --rows 2000 --repeats 5
"""

import argparse
import io
import os
import re
import secrets
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

COPY_TABLE = "bench_roster_copy"
OFFICE_HOURS_EVERY = 5  # one row in five asks for the office-hours tier


@dataclass
class Case:
    name: str
    rows: int
    seconds: list[float] = field(default_factory=list)
    queries: int | None = None

    @property
    def median(self):
        return statistics.median(self.seconds) if self.seconds else None

    @property
    def rate(self):
        return self.rows / self.median if self.median else None


@dataclass
class BulkReport:
    rows: int
    repeats: int
    database_label: str
    cases: list[Case]
    copy: Case | None  # None without Postgres

    def case(self, name):
        return next(case for case in self.cases if case.name == name)


def roster_csv(rows: int, prefix: str) -> bytes:
    """A roster as a spreadsheet exports it: byte-order mark, CRLF, a header, some upper case."""
    lines = ["Email,First name,Last name,Tier"]
    for n in range(rows):
        tier = "office-hours" if n % OFFICE_HOURS_EVERY == 0 else "standard"
        lines.append(f"{prefix}.Student{n}@Example.com,Student,Number {n},{tier}")
    return ("\ufeff" + "\r\n".join(lines) + "\r\n").encode()


def _new_run(number):
    from django.utils import timezone

    from courses.models import Course
    from enrollment.models import Run, Tier

    course, _ = Course.objects.get_or_create(
        slug="bench-bulk",
        defaults={"title": "Bench course (bulk enrolment)", "description": "A benchmark course.", "is_published": True},
    )
    run = Run.objects.create(
        course=course, title=f"Bulk cohort {number}", slug=f"bench-bulk-{number}",
        starts_at=timezone.now() + timedelta(days=1),  # the pre-launch email is due: the heaviest path
    )  # fmt: skip
    Tier.objects.create(run=run, kind=Tier.Kind.STANDARD, name="Standard", price="200.00", months=2)
    Tier.objects.create(
        run=run, kind=Tier.Kind.OFFICE_HOURS, name="With office hours", price="400.00", months=4,
        includes_office_hours=True,
    )  # fmt: skip
    return run


def _timed_command(path, run):
    """Run `manage.py bulk_enroll` in-process; return (seconds, SQL statements, output)."""
    from django.core.management import call_command
    from django.db import connection

    out, err = io.StringIO(), io.StringIO()
    queries = [0]

    def count(execute, sql, params, many, context):
        queries[0] += 1
        return execute(sql, params, many, context)

    # --no-email: the emails are recorded (as skipped), but none is delivered inside the measurement.
    with connection.execute_wrapper(count):
        start = time.perf_counter()
        call_command("bulk_enroll", str(path), "--run", run.slug, "--no-email", stdout=out, stderr=err)
        seconds = time.perf_counter() - start
    return seconds, queries[0], out.getvalue()


def _counts(output):
    """The counts bulk_enroll printed, e.g. {"unchanged": 10000}."""
    found = (re.fullmatch(r"\s+([a-z ]+):\s+(\d+)", line) for line in output.splitlines())
    return {match[1]: int(match[2]) for match in found if match}


def _timed_parse(data, run):
    from enrollment.bulk import parse_roster

    start = time.perf_counter()
    roster = parse_roster(data, run=run)
    seconds = time.perf_counter() - start
    if len(roster.rows) != roster.lines:
        raise RuntimeError("the benchmark roster should have one row per student")
    return seconds


def _timed_copy(data):
    """COPY the same CSV into a scratch table and commit: the floor for getting these rows into Postgres."""
    from django.db import connection, transaction

    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {COPY_TABLE}")
        cursor.execute(f"CREATE TEMP TABLE {COPY_TABLE} (email text, first_name text, last_name text, tier text)")
    try:
        start = time.perf_counter()
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.copy_expert(f"COPY {COPY_TABLE} FROM STDIN WITH (FORMAT csv, HEADER true)", io.BytesIO(data))
        seconds = time.perf_counter() - start
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT count(*) FROM {COPY_TABLE}")
            copied = cursor.fetchone()[0]
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {COPY_TABLE}")
    return seconds, copied


def measure_bulk_enroll(*, database_label, postgres, tmp, rows=10_000, repeats=3, log=print):
    """Time bulk_enroll of `rows` new students (`repeats` times, each into a new run), the same file again,
    validation alone, and (on Postgres) a COPY of the same bytes into a scratch table."""
    from enrollment.models import Enrollment

    new = Case("bulk_enroll, new students", rows)
    again = Case("bulk_enroll, same file again", rows)
    parse = Case("  of which: read and check", rows)
    copy = Case("COPY into a scratch table", rows) if postgres else None
    for repeat in range(repeats):
        run = _new_run(repeat + 1)
        data = roster_csv(rows, prefix=f"r{repeat + 1}")
        path = Path(tmp) / f"roster-{repeat + 1}.csv"
        path.write_bytes(data)
        log(f"bench: bulk_enroll {rows:,} rows, round {repeat + 1} of {repeats}")
        parse.seconds.append(_timed_parse(data, run))
        seconds, new.queries, output = _timed_command(path, run)
        new.seconds.append(seconds)
        if Enrollment.objects.filter(run=run).count() != rows:
            raise RuntimeError(f"bulk_enroll did not enroll {rows} students:\n{output}")
        seconds, again.queries, output = _timed_command(path, run)
        again.seconds.append(seconds)
        if _counts(output).get("unchanged") != rows:
            raise RuntimeError(f"the second bulk_enroll should leave all {rows} rows unchanged:\n{output}")
        if copy is not None:
            seconds, copied = _timed_copy(data)
            if copied != rows:
                raise RuntimeError(f"COPY loaded {copied} rows, not {rows}")
            copy.seconds.append(seconds)
    return BulkReport(rows, repeats, database_label, [new, parse, again], copy)


def _fmt(value, spec):
    return "n/a" if value is None else format(value, spec)


def print_bulk_table(report: BulkReport):
    copy = report.copy
    print()
    print(
        f"bulk_enroll: {report.rows:,} rows (CSV with BOM and CRLF, 1 in {OFFICE_HOURS_EVERY} office hours, "
        f"--no-email), in-process, {report.database_label}. Median of {report.repeats}."
    )
    header = f"{'case':<30} {'rows':>7} {'seconds':>8} {'rows/s':>9} {'÷ COPY':>7} {'queries':>7}"
    print(header)
    print("-" * len(header))
    for case in [*report.cases, copy or Case("COPY into a scratch table", report.rows)]:
        ratio = case.rate / copy.rate if copy and case.rate and copy.rate else None
        print(
            f"{case.name:<30} {case.rows:>7,} {_fmt(case.median, '8.3f'):>8} {_fmt(case.rate, '9,.0f'):>9} "
            f"{_fmt(ratio, '7.3f'):>7} {_fmt(case.queries, '7d'):>7}"
        )
    new = report.case("bulk_enroll, new students")
    if copy and copy.median and new.median:
        print(
            f"bulk_enroll of new students takes {new.median / copy.median:.0f}× as long as COPY of the same rows "
            f"({new.rate:,.0f} vs {copy.rate:,.0f} rows/s)."
        )
    else:
        print("COPY n/a: it needs Postgres (set DATABASE_URL to a scratch database).")
    print("New students: a user (no password hashing), an enrollment and a skipped pre-launch email row each,")
    print("in one transaction, committed. Same file again: all unchanged. Read and check: parse_roster alone.")
    print("COPY: psycopg2 copy_expert of the same bytes into a temporary table of four text columns, committed.")
    print("÷ COPY: rows/s as a fraction of COPY's. queries: SQL statements of one bulk_enroll.")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000, help="rows in the CSV (default 10000)")
    parser.add_argument("--repeats", type=int, default=3, help="measure this many times, each into a new run")
    args = parser.parse_args()
    if not (1 <= args.rows <= 200_000 and 1 <= args.repeats <= 10):
        parser.error("--rows must be 1..200000 and --repeats 1..10")
    here = Path(__file__).resolve().parent
    sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != here]
    sys.path.insert(0, str(here.parent))
    from bench import bench as pages

    tmp = Path(tempfile.mkdtemp(prefix="courseweb-bench-bulk-"))
    database = None
    django_ready = False
    try:
        database = pages.open_database(tmp)
        pages.log(f"bench: database {database.label}")
        os.environ.pop("REDIS_URL", None)
        os.environ.update(
            DJANGO_SETTINGS_MODULE="bench.settings", SECRET_KEY=secrets.token_urlsafe(50), DATABASE_URL=database.url
        )
        import django

        django.setup()
        django_ready = True
        from django.core.management import call_command

        pages.log("bench: migrating")
        call_command("migrate", verbosity=0, interactive=False)
        report = measure_bulk_enroll(
            database_label=database.label, postgres=bool(database.postgres), tmp=tmp, rows=args.rows,
            repeats=args.repeats, log=pages.log,
        )  # fmt: skip
        print_bulk_table(report)
    except KeyboardInterrupt:
        pages.log("bench: interrupted; cleaning up")
        return 130
    finally:
        if django_ready:
            from django.db import connections

            pages._cleanup("close the database connections", connections.close_all)
        if database is not None:
            pages._cleanup("drop the scratch database", pages.drop_database, database)
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
