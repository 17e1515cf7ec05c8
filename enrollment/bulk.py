"""Bulk enrolment from a CSV roster: validate the whole file first, then write it in one transaction.

`parse_roster` reads and checks every row and raises `RosterError` with all the problems it found
(nothing has been written then); `apply_roster` creates the missing users and the enrollments,
upgrades tiers and queues the pre-launch emails, with a fixed number of queries per chunk of rows.
Each student's outcome is decided by `rules.decide`, as for one student enrolled by `services`:
never downgrade, leave refunded and cancelled enrollments alone.
"""

import csv
import io
import secrets
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models.functions import Lower
from django.utils import timezone

from accounts.models import User, normalize_email
from courseweb.errors import Refusal

from . import emails
from .models import Enrollment, Run, SentEmail, Tier
from .rules import CREATED, UNCHANGED, UPGRADED, WRONG_RUN, decide
from .services import dispatch_emails

# Rows written per round of queries (and per progress line); stays under SQLite's 999 parameters per query.
CHUNK = 900
# Files longer than this report their progress.
PROGRESS_ROWS = 1000

COLUMNS = {
    "email": "email",
    "e_mail": "email",
    "email_address": "email",
    "first_name": "first_name",
    "firstname": "first_name",
    "given_name": "first_name",
    "last_name": "last_name",
    "lastname": "last_name",
    "surname": "last_name",
    "family_name": "last_name",
    "tier": "tier",
}
EMAIL_MAX_LENGTH = User._meta.get_field("email").max_length
NAME_MAX_LENGTH = User._meta.get_field("first_name").max_length

# Messages; each reason goes after "line N: ".
UNKNOWN_RUN = "There is no run with the slug {slug!r}."
RUN_HAS_NO_TIER = "{run} has no {kind} tier (--tier {kind}); its tiers are: {tiers}."
CONCURRENT_CHANGE = (
    "Nothing was changed: some of these students were enrolled or created by someone else at the same moment. "
    "Run the command again."
)
PROBLEMS = "Nothing was changed. Fix these {count} problem(s) in {name} and run the command again:"
EMPTY_FILE = "the file is empty"
NOT_UTF8 = "the file is not UTF-8 text ({detail}); save it from the spreadsheet as CSV UTF-8"
MISSING_HEADER = "no header row: the first line must name the columns, e.g. email,first_name,last_name,tier"
MISSING_EMAIL_COLUMN = "the header has no email column (its columns are: {columns})"
DUPLICATE_COLUMN = "the header names the column {column} twice"
UNREADABLE = "cannot read the CSV here: {detail}"
TOO_MANY_VALUES = "{count} values, but the header names {columns} columns"
NO_EMAIL = "no email address"
BAD_EMAIL = "{email!r} is not a valid email address"
EMAIL_TOO_LONG = "the email address is longer than {limit} characters"
NAME_TOO_LONG = "the {column} is longer than {limit} characters"
CONTROL_CHARACTER = "the {column} contains a control character"
UNKNOWN_TIER = "unknown tier {tier!r}; the tiers of this run are: {tiers}"
NO_TIER = "no tier: this run has no standard tier, so name one in the tier column or with --tier"
CONFLICTING_TIER = "{email} is also on line {line} with the tier {other}; give each student one tier"


@dataclass(frozen=True)
class RowError:
    line: int | None  # the file's physical line (the header is line 1); None for the file as a whole
    reason: str

    def __str__(self):
        return self.reason if self.line is None else f"line {self.line}: {self.reason}"


class RosterError(Refusal):
    """The roster cannot be applied; `errors` lists every problem found, `message` all of them, one a line."""

    def __init__(self, errors: list[RowError]):
        self.errors = errors
        super().__init__("\n".join(str(error) for error in errors))


@dataclass(frozen=True)
class RosterRow:
    line: int
    email: str  # normalized: trimmed, lower-case
    first_name: str
    last_name: str
    tier: Tier


@dataclass(frozen=True)
class Roster:
    run: Run
    rows: list[RosterRow]  # one per student, in file order
    lines: int  # data rows read, duplicates included


@dataclass(frozen=True)
class Skipped:
    line: int
    email: str
    reason: str


@dataclass
class BulkResult:
    rows: int = 0
    users_created: int = 0
    created: int = 0
    upgraded: int = 0
    unchanged: int = 0
    skipped: list[Skipped] = field(default_factory=list)
    emails_queued: int = 0  # pre-launch emails queued for sending
    emails_skipped: int = 0  # pre-launch emails recorded as skipped (--no-email)
    prelaunch_due: bool = False
    dry_run: bool = False


Progress = Callable[[str], None]


DRY_RUN_HEADING = "Dry run: nothing was saved. This is what the file would do:"


def report_lines(result: BulkResult, run: Run, *, no_email_hint: str = "--no-email") -> list[str]:
    """Return the report of a roster applied (or dry-run): counts, emails and skipped rows, one a line.

    The command prints it and the admin shows it, so both tell the same.
    """
    lines = [DRY_RUN_HEADING] if result.dry_run else []
    lines.append(f"{run} ({run.slug}): {result.rows} rows")
    counts = [
        ("users created", result.users_created),
        ("enrollments created", result.created),
        ("upgraded", result.upgraded),
        ("unchanged", result.unchanged),
        ("skipped", len(result.skipped)),
    ]
    lines += [f"  {label + ':':<21}{count:>7}" for label, count in counts]
    if result.emails_queued:
        lines.append(f"  pre-launch emails queued for sending: {result.emails_queued}")
    elif result.emails_skipped:
        lines.append(f"  pre-launch emails: none ({no_email_hint}; {result.emails_skipped} recorded as skipped)")
    elif result.created and not result.prelaunch_due:
        when = f"{run.prelaunch_email_at:%Y-%m-%d %H:%M %Z}"
        lines.append(f"  pre-launch emails: not due yet; the periodic job sends them from {when}")
    if result.skipped:
        lines.append("Skipped:")
        lines += [f"  line {skipped.line}: {skipped.email}: {skipped.reason}" for skipped in result.skipped]
    return lines


def get_run(slug: str) -> Run:
    """Return the run with this slug, or raise RosterError."""
    run = Run.objects.filter(slug=slug).first()
    if run is None:
        raise RosterError([RowError(None, UNKNOWN_RUN.format(slug=slug))])
    return run


def parse_roster(
    source: str | bytes | io.IOBase, *, run: Run, tier_kind: str | None = None, progress: Progress | None = None
) -> Roster:
    """Read and check a whole roster; raise RosterError listing every bad row.

    `source` is the CSV as bytes (UTF-8, with or without a byte-order mark), text, or a file open in
    either mode. `tier_kind` is the tier of rows that name none (default: the run's standard tier).
    """
    tiers = _Tiers(run, tier_kind)
    records = _records(_decode(source))
    if not records:
        raise RosterError([RowError(None, EMPTY_FILE)])
    columns = _columns(*records[0])
    data = records[1:]
    errors, rows, seen = [], [], {}
    report = progress if progress is not None and len(data) > PROGRESS_ROWS else None
    for number, (line, values) in enumerate(data, 1):
        if report is not None and number % PROGRESS_ROWS == 0:
            report(f"validated {number:,} of {len(data):,} rows")
        if isinstance(values, RowError):
            errors.append(values)
            continue
        row, reasons = _read_row(line, values, columns=columns, tiers=tiers)
        if reasons:
            errors.extend(RowError(line, reason) for reason in reasons)
            continue
        first = seen.setdefault(row.email, len(rows))
        if first == len(rows):
            rows.append(row)
        elif rows[first].tier != row.tier:
            other = rows[first]
            errors.append(
                RowError(line, CONFLICTING_TIER.format(email=row.email, line=other.line, other=other.tier.kind))
            )
        else:
            # The same student twice with the same tier is one student; a name given only later still counts.
            other = rows[first]
            rows[first] = RosterRow(
                other.line,
                other.email,
                other.first_name or row.first_name,
                other.last_name or row.last_name,
                other.tier,
            )
    if errors:
        raise RosterError(errors)
    return Roster(run=run, rows=rows, lines=len(data))


class _Tiers:
    """The run's tiers, found by kind or by name in any case and spacing, and the tier of rows that name none."""

    def __init__(self, run: Run, kind: str | None):
        tiers = list(run.tiers.all())
        self.names = ", ".join(tier.kind for tier in tiers) or "none"
        self.by_key = {_tier_key(tier.name): tier for tier in tiers}
        self.by_key.update({_tier_key(tier.kind): tier for tier in tiers})  # a kind wins over another tier's name
        self.default = next((tier for tier in tiers if tier.kind == (kind or Tier.Kind.STANDARD)), None)
        if kind is not None and self.default is None:
            raise RosterError([RowError(None, RUN_HAS_NO_TIER.format(run=run, kind=kind, tiers=self.names))])


def _read_row(line: int, values: list[str], *, columns, tiers: _Tiers) -> tuple[RosterRow | None, list[str]]:
    """Return the row, or None and the reasons it is wrong."""
    reasons = []
    if any(value.strip() for value in values[len(columns) :]):
        reasons.append(TOO_MANY_VALUES.format(count=len(values), columns=len(columns)))
    cells = {name: values[index].strip() for index, name in enumerate(columns) if name and index < len(values)}
    email = normalize_email(cells.get("email"))
    if not email:
        reasons.append(NO_EMAIL)
    elif len(email) > EMAIL_MAX_LENGTH:
        reasons.append(EMAIL_TOO_LONG.format(limit=EMAIL_MAX_LENGTH))
    else:
        try:
            validate_email(email)
        except ValidationError:
            reasons.append(BAD_EMAIL.format(email=cells["email"]))
    names = []
    for column in ("first_name", "last_name"):
        # A line break typed inside a spreadsheet cell becomes a space.
        value = " ".join(cells.get(column, "").split())
        label = column.replace("_", " ")
        if len(value) > NAME_MAX_LENGTH:
            reasons.append(NAME_TOO_LONG.format(column=label, limit=NAME_MAX_LENGTH))
        elif any(unicodedata.category(char) in {"Cc", "Cs"} for char in value):
            reasons.append(CONTROL_CHARACTER.format(column=label))
        names.append(value)
    tier_value = cells.get("tier", "")
    if tier_value:
        tier = tiers.by_key.get(_tier_key(tier_value))
        if tier is None:
            reasons.append(UNKNOWN_TIER.format(tier=tier_value, tiers=tiers.names))
    else:
        tier = tiers.default
        if tier is None:
            reasons.append(NO_TIER)
    if reasons:
        return None, reasons
    return RosterRow(line, email, names[0], names[1], tier), []


def apply_roster(
    *, roster: Roster, send_email: bool = True, dry_run: bool = False, now: datetime | None = None,
    progress: Progress | None = None,
) -> BulkResult:  # fmt: skip
    """Enroll everyone on the roster in one transaction; with `dry_run`, count and roll back.

    Missing users are created without a usable password (they log in by emailed code). New
    enrollments get the pre-launch email if it is due; with `send_email=False` it is recorded as
    skipped instead, now or later, so the periodic job never sends it. Existing enrollments of the
    run are locked for the duration.
    """
    now = now or timezone.now()
    run = roster.run
    wrong = [RowError(row.line, WRONG_RUN.format(tier=row.tier)) for row in roster.rows if not row.tier.belongs_to(run)]
    if wrong:  # parse_roster takes tiers from the run; a roster put together otherwise may not
        raise RosterError(wrong)
    result = BulkResult(rows=roster.lines, dry_run=dry_run, prelaunch_due=emails.prelaunch_is_due(run, now=now))
    report = progress if progress is not None and len(roster.rows) > PROGRESS_ROWS else None
    with transaction.atomic():
        for start in range(0, len(roster.rows), CHUNK):
            chunk = roster.rows[start : start + CHUNK]
            _apply_chunk(chunk, run=run, now=now, send_email=send_email, result=result)
            if report is not None:
                report(f"wrote {start + len(chunk):,} of {len(roster.rows):,} students")
        if result.emails_queued:
            dispatch_emails()
        if dry_run:
            transaction.set_rollback(True)
    return result


def _apply_chunk(rows: list[RosterRow], *, run: Run, now: datetime, send_email: bool, result: BulkResult):
    user_ids = _user_ids([row.email for row in rows])
    missing = [row for row in rows if row.email not in user_ids]
    if missing:
        user_ids.update(_create_users(missing, now=now))
        result.users_created += len(missing)

    existing = {
        enrollment.user_id: enrollment
        for enrollment in Enrollment.objects.select_for_update(of=("self",))
        .select_related("tier")
        .filter(run=run, user_id__in=user_ids.values())
        .order_by()
    }
    to_create, to_upgrade = [], []
    for row in rows:
        user_id = user_ids[row.email]
        enrollment = existing.get(user_id)
        outcome, reason = decide(enrollment, row.tier)
        if outcome == CREATED:
            to_create.append(
                Enrollment(user_id=user_id, run=run, tier=row.tier, source=Enrollment.Source.BULK, enrolled_at=now)
            )
        elif outcome == UPGRADED:
            enrollment.tier = row.tier
            to_upgrade.append(enrollment)
        elif outcome == UNCHANGED:
            result.unchanged += 1
        else:
            result.skipped.append(Skipped(row.line, row.email, reason))
    if to_upgrade:
        Enrollment.objects.bulk_update(to_upgrade, ["tier"])
        result.upgraded += len(to_upgrade)
    if not to_create:
        return
    Enrollment.objects.bulk_create(to_create)
    result.created += len(to_create)
    if any(enrollment.pk is None for enrollment in to_create):
        created_ids = list(
            Enrollment.objects.filter(run=run, user_id__in=[e.user_id for e in to_create]).values_list("pk", flat=True)
        )
    else:
        created_ids = [enrollment.pk for enrollment in to_create]
    if not send_email:
        # Recorded as skipped even before the pre-launch time, so the periodic job never sends it.
        result.emails_skipped += emails.queue(
            enrollments=created_ids, kind=SentEmail.Kind.PRELAUNCH, now=now, status=SentEmail.Status.SKIPPED
        )
    elif result.prelaunch_due:
        result.emails_queued += emails.queue(enrollments=created_ids, kind=SentEmail.Kind.PRELAUNCH, now=now)


def _create_users(rows: list[RosterRow], *, now: datetime) -> dict[str, int]:
    """Create a user for each row, with no usable password; return their ids by email."""
    users = [
        User(
            email=row.email,
            first_name=row.first_name,
            last_name=row.last_name,
            date_joined=now,
            # What set_unusable_password stores ("!" and a random string), without its 40 calls to
            # secrets.choice and without hashing: they log in by emailed code, or set a password later.
            password=UNUSABLE_PASSWORD_PREFIX + secrets.token_urlsafe(30),
        )
        for row in rows
    ]
    User.objects.bulk_create(users)
    if any(user.pk is None for user in users):  # a backend that does not return ids
        return _user_ids([user.email for user in users])
    return {user.email: user.pk for user in users}


def _user_ids(addresses: list[str]) -> dict[str, int]:
    """Map each address (normalized) to its user's id, compared case-insensitively as the unique index does."""
    rows = (
        User.objects.annotate(email_lower=Lower("email"))
        .filter(email_lower__in=addresses)
        .values_list("email_lower", "pk")
    )
    return dict(rows)


def _tier_key(value: str) -> str:
    return "-".join(value.strip().lower().replace("_", " ").replace("-", " ").split())


def _decode(source) -> str:
    if hasattr(source, "read"):
        source = source.read()
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
        try:
            return data.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            line = data[: error.start].count(b"\n") + 1
            detail = f"byte 0x{data[error.start]:02x}"
            raise RosterError([RowError(line, NOT_UTF8.format(detail=detail))]) from None
    return source.removeprefix("\ufeff")


def _records(text: str) -> list[tuple[int, list[str] | RowError]]:
    """Split the CSV into (first physical line, values) pairs, leaving out blank lines.

    A row that cannot be read ends the reading, as a RowError in place of its values.
    """
    delimiter = _delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    records = []
    previous = 0
    while True:
        try:
            values = next(reader)
        except StopIteration:
            break
        except csv.Error as error:
            records.append((previous + 1, RowError(previous + 1, UNREADABLE.format(detail=error))))
            break
        line, previous = previous + 1, reader.line_num
        if any(value.strip() for value in values):
            records.append((line, values))
    if records and isinstance(records[0][1], RowError):
        raise RosterError([records[0][1]])
    return records


def _delimiter(text: str) -> str:
    """Commas, unless the header has none and uses semicolons or tabs (as some spreadsheets export)."""
    first = next((line for line in text.splitlines() if line.strip()), "")
    if "," not in first:
        for candidate in (";", "\t"):
            if candidate in first:
                return candidate
    return ","


def _columns(line: int, header: list[str]) -> list[str | None]:
    """Map the header's cells to the known columns (None for a column that is ignored)."""
    columns, errors = [], []
    for cell in header:
        key = "_".join(cell.strip().lower().replace("-", " ").replace("_", " ").split())
        name = COLUMNS.get(key)
        if name is not None and name in columns:
            errors.append(RowError(line, DUPLICATE_COLUMN.format(column=name)))
        columns.append(name)
    if "email" not in columns:
        if any("@" in cell for cell in header):
            errors.append(RowError(line, MISSING_HEADER))
        else:
            names = ", ".join(cell.strip() for cell in header if cell.strip()) or "none"
            errors.append(RowError(line, MISSING_EMAIL_COLUMN.format(columns=names)))
    if errors:
        raise RosterError(errors)
    return columns
