"""The enrollment emails: queued as SentEmail rows, each delivered exactly once.

The database is the queue; Celery tasks only say "look now". Delivery claims one queued row at a time
with SELECT … FOR UPDATE SKIP LOCKED, hands its message to SMTP and marks it sent in the same
transaction, over one SMTP connection per batch. Two workers never send the same row; a worker that
dies mid-batch rolls its claim back to queued, so after a restart (or at the next beat sweep) the rest
go out. The only possible repeat is the one message that was being handed to the SMTP server at the
instant a worker was killed (accepted by the server, not yet committed as sent).
"""

import contextlib
import logging
from datetime import timedelta

from django.core.mail import EmailMultiAlternatives
from django.db import DatabaseError, connection
from django.db.models import Count
from django.urls import reverse
from django.utils import timezone

from courses.models import Section
from courseweb import mail

from .currency import format_amount
from .models import Enrollment, Extension, Run, SentEmail

logger = logging.getLogger(__name__)

# Rows read per query while delivering, then claimed CLAIM_SIZE at a time (each still marked on its own).
QUEUED_PAGE_SIZE = 100
CLAIM_SIZE = 50
# The first key of the advisory locks that claim SentEmail rows (the second is the row id): a number of our own.
CLAIM_LOCK = 0x5E17E3A1
# A run whose start is longer ago than this gets no pre-launch sweep (late enrolments get theirs at once).
PRELAUNCH_SWEEP_GRACE = timedelta(days=7)
SUBJECTS = {
    SentEmail.Kind.PRELAUNCH: "{course} starts on {date}",
    SentEmail.Kind.WELCOME: "Welcome to {course}: your enrolment is confirmed",
}
EXTENDED_SUBJECT = "{course}: your access now lasts until {date}"
# The pre-launch email of a student who enrolled after the start (sent at once) says so.
PRELAUNCH_LATE_SUBJECT = "{course} started on {date}: how to log in"


def prelaunch_is_due(run: Run, *, now) -> bool:
    return run.prelaunch_email_at <= now


def queue(*, enrollments, kind, now=None, status=SentEmail.Status.QUEUED) -> int:
    """Queue one email of `kind` per enrollment; enrollments that have one already are left alone."""
    now = now or timezone.now()
    # In id order, so that two sweeps inserting the same rows at once wait for each other instead of deadlocking.
    ids = sorted({getattr(e, "pk", e) for e in enrollments})
    rows = [SentEmail(enrollment_id=pk, kind=kind, status=status, queued_at=now) for pk in ids]
    before = SentEmail.objects.filter(kind=kind, enrollment_id__in=ids).count()
    SentEmail.objects.bulk_create(rows, ignore_conflicts=True, batch_size=1000)
    after = SentEmail.objects.filter(kind=kind, enrollment_id__in=ids).count()
    return after - before


def queue_due_prelaunch(*, now=None) -> int:
    """Queue the pre-launch email for every active enrollment of a run whose pre-launch time has come."""
    now = now or timezone.now()
    due = [
        run.pk
        for run in Run.objects.filter(starts_at__gt=now - PRELAUNCH_SWEEP_GRACE)
        if prelaunch_is_due(run, now=now)
    ]
    if not due:
        return 0
    missing = (
        Enrollment.objects.active()
        .filter(run__in=due)
        .exclude(emails__kind=SentEmail.Kind.PRELAUNCH)
        .order_by()
        .values_list("pk", flat=True)
    )
    if connection.vendor != "postgresql":
        return queue(enrollments=list(missing), kind=SentEmail.Kind.PRELAUNCH, now=now)
    # One INSERT … SELECT, in id order as queue() (two sweeps at once wait for each other, not deadlock):
    # reading the ids and inserting them as models took more of a sweep than sending some hundred emails.
    missing_sql, params = missing.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {_SENT_EMAIL} (enrollment_id, kind, status, queued_at)"
            f" SELECT missing.id, %s, %s, %s FROM ({missing_sql}) AS missing (id)"
            " ORDER BY missing.id ON CONFLICT DO NOTHING",
            [SentEmail.Kind.PRELAUNCH, SentEmail.Status.QUEUED, now, *params],
        )
        return cursor.rowcount


def deliver_queued(*, limit=None) -> int:
    """Send queued emails over one SMTP connection; mark each sent the moment the server took it. Return how many.

    One pass over the queue in id order: read a page of queued rows with what their emails need, then
    claim them CLAIM_SIZE at a time (see _claim: an advisory lock on each row still queued, held by this
    database session, skipping the rows another worker holds) and, one by one, send each and mark it sent
    in a commit of its own right after the SMTP server's "250". A row another worker holds is passed by,
    a row it has sent is no longer queued, and a worker that dies loses its session and with it its
    claims: after a restart (or at the next sweep) the rest go out. Only the one email the server had
    taken when a worker was killed, not yet marked, can go twice. The SMTP connection opens at the first
    email, so an empty sweep does not connect. An address refused for good is skipped; a message rejected
    or malformed stays queued (see mail.Batch). Errors that may pass (server unreachable, 4xx) propagate
    and leave the row queued: retry the batch.

    What is the same for many emails (a course's sections, its run's office hours, the links, the email
    itself but for the student's own strings) is read or built once per pass; each mark commits without
    waiting for the disk (see mail.commit_without_waiting_for_disk).
    """
    after = 0  # the pass's position; a row that fails to render is left queued and not tried again this pass
    shared = _Shared()
    with mail.Batch() as batch:
        while limit is None or batch.sent < limit:
            page = list(_queued_page(after=after))
            if not page:
                break
            for start in range(0, len(page), CLAIM_SIZE):
                if limit is not None and batch.sent >= limit:
                    break
                rows = page[start : start + CLAIM_SIZE]
                after = rows[-1].pk
                with _claim(rows) as claimed:
                    due = [row for row in rows if row.pk in claimed]
                    for at, row in enumerate(due):
                        if limit is not None and batch.sent >= limit:
                            break
                        following = due[at + 1] if at + 1 < len(due) else None
                        _deliver(row, claimed, batch=batch, shared=shared, following=following)
    return batch.sent


def _deliver(row: SentEmail, claimed: dict, *, batch: mail.Batch, shared, following=None) -> None:
    """Send one claimed row's email and mark it (sent, or skipped when it is not wanted any more).

    While the SMTP server takes it, the email of the `following` claimed row is made (see Batch.send).
    """
    if claimed[row.pk] != Enrollment.Status.ACTIVE:
        _mark(row, SentEmail.Status.SKIPPED)
        return
    message = shared.made.pop(row.pk, None)
    if message is None:
        try:
            message = shared.message(row)
        except DatabaseError:
            raise
        except Exception:
            # One row that cannot be rendered must not hold up the rest of the queue.
            logger.exception("Could not render the %s email of enrollment %s", row.kind, row.enrollment_id)
            return

    def make_the_following():
        if following is not None and claimed[following.pk] == Enrollment.Status.ACTIVE:
            with contextlib.suppress(Exception):  # made (and its error logged) in its turn instead
                shared.made[following.pk] = shared.message(following)

    handed = batch.send(message, meanwhile=make_the_following)
    if handed is mail.Handed.SENT:
        _mark(row, SentEmail.Status.SENT)
    elif handed is mail.Handed.REFUSED:
        _mark(row, SentEmail.Status.SKIPPED)
    # Rejected or malformed: the row stays queued, the batch goes on.


class _Shared:
    """What the emails of one delivery pass share, read or built once: runs, courses, tiers, sections, links.

    Rows of one run get the same run, course and tier objects, so what a template tag keeps on the run
    (its office hours) is asked once per run, not once per email. Nothing here belongs to one student.
    """

    def __init__(self):
        self.objects = {}
        self.sections_by_course = {}
        self.links_by_course = {}
        self.stencils = {}
        self.made = {}  # row id -> its message, made ahead while the server took the one before

    def message(self, row: SentEmail) -> EmailMultiAlternatives:
        self.adopt(row)
        return build_message(row, sections=self.sections(row), links=self.links(row), stencils=self.stencils)

    def adopt(self, row: SentEmail) -> SentEmail:
        enrollment = row.enrollment
        run = enrollment.run = self.objects.setdefault((Run, enrollment.run_id), enrollment.run)
        run.course = self.objects.setdefault((type(run.course), run.course_id), run.course)
        enrollment.tier = self.objects.setdefault((type(enrollment.tier), enrollment.tier_id), enrollment.tier)
        return row

    def sections(self, row: SentEmail):
        course = row.enrollment.run.course
        if course.pk not in self.sections_by_course:
            self.sections_by_course[course.pk] = course_sections(course)
        return self.sections_by_course[course.pk]

    def links(self, row: SentEmail) -> dict:
        course = row.enrollment.run.course
        if course.pk not in self.links_by_course:
            self.links_by_course[course.pk] = email_links(course)
        return self.links_by_course[course.pk]


def _mark(row: SentEmail, status: str) -> None:
    """Set a claimed row's status (and sent_at when sent), committed at once without waiting for the disk."""
    row.status = status
    if status == SentEmail.Status.SENT:
        row.sent_at = timezone.now()
    # One statement by hand, in one round trip: the ORM's save() costs several times it, once per email.
    sql = f"UPDATE {_SENT_EMAIL} SET status = %s, sent_at = %s WHERE id = %s"
    if connection.vendor == "postgresql":
        # Its own transaction (autocommit), and see mail.commit_without_waiting_for_disk for why this is safe.
        sql = f"SET LOCAL synchronous_commit TO OFF; {sql}"
    with connection.cursor() as cursor:
        cursor.execute(sql, [row.status, row.sent_at, row.pk])


def _queued_page(*, after):
    """The next queued rows after id `after`, with their enrollment, student, run, course and tier. Not locked."""
    return (
        SentEmail.objects.filter(status=SentEmail.Status.QUEUED, pk__gt=after)
        .select_related("enrollment__user", "enrollment__run__course", "enrollment__tier")
        .order_by("pk")[:QUEUED_PAGE_SIZE]
    )


_SENT_EMAIL = connection.ops.quote_name(SentEmail._meta.db_table)
_ENROLLMENT = connection.ops.quote_name(Enrollment._meta.db_table)


@contextlib.contextmanager
def _claim(rows):
    """Claim the rows still queued that no other worker holds; yield {row id: its enrollment's status}.

    A claim is a Postgres advisory lock (CLAIM_LOCK, the row id), held by this database session until the
    block ends — not a row lock, which the commit of the first mark would release. A worker that dies
    loses its session, so its claims go with it. The rows are read again once locked, so that one another
    worker sent and released in between is not sent twice. Elsewhere (SQLite, one process) nothing is
    locked. Call outside a transaction, so that each mark inside commits at once.
    """
    ids = [row.pk for row in rows]
    queued = [SentEmail.Status.QUEUED]
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT s.id, e.status FROM {_SENT_EMAIL} s JOIN {_ENROLLMENT} e ON e.id = s.enrollment_id"
                f" WHERE s.id IN ({', '.join(['%s'] * len(ids))}) AND s.status = %s",
                [*ids, *queued],
            )
            yield dict(cursor.fetchall())
        return
    with connection.cursor() as cursor:
        # MATERIALIZED: only the queued rows are tried, never one the WHERE would drop after locking it.
        cursor.execute(
            f"WITH queued AS MATERIALIZED (SELECT s.id, e.status FROM {_SENT_EMAIL} s"
            f" JOIN {_ENROLLMENT} e ON e.id = s.enrollment_id WHERE s.id = ANY(%s) AND s.status = %s)"
            f" SELECT id, status FROM queued WHERE pg_try_advisory_lock(%s, (id %% 2147483648)::int)",
            [ids, *queued, CLAIM_LOCK],
        )
        locked = dict(cursor.fetchall())
    try:
        if locked:
            with connection.cursor() as cursor:
                # A statement of its own sees what others committed before we held the lock.
                cursor.execute(
                    f"SELECT id FROM {_SENT_EMAIL} WHERE id = ANY(%s) AND status = %s", [list(locked), *queued]
                )
                still = {pk for (pk,) in cursor.fetchall()}
            yield {pk: status for pk, status in locked.items() if pk in still}
        else:
            yield {}
    finally:
        if locked:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_advisory_unlock(%s, (id %% 2147483648)::int) FROM unnest(%s::bigint[]) AS id",
                    [CLAIM_LOCK, list(locked)],
                )


def course_sections(course):
    """Return the course's sections in syllabus order, each with its number of lessons."""
    return list(Section.objects.filter(course=course).annotate(lesson_count=Count("lessons")).order_by("order", "id"))


def email_links(course) -> dict:
    """The links of an enrollment email, the same for every student of the course."""
    return {
        "login_url": mail.absolute(reverse("account_login")),
        "login_code_url": mail.absolute(reverse("account_request_login_code")),
        "password_reset_url": mail.absolute(reverse("account_reset_password")),
        "course_url": mail.absolute(reverse("courses:home", args=[course.slug])),
        "profile_url": mail.absolute(reverse("profile")),
    }


def build_message(row: SentEmail, *, sections, links=None, stencils=None, now=None) -> EmailMultiAlternatives:
    """Render the email of one row in the student's own time zone, with text and HTML parts.

    `sections`: course_sections(); `links`: email_links(), when the caller keeps them for many emails.
    `stencils`: a dict the caller keeps for many emails, to render each pre-launch email once per run, tier,
    zone and the rest of what is not the student's own (see mail.Stencil) instead of once per student.
    """
    now = now or timezone.now()
    subject, context, zone = _email_of(row, sections=sections, links=links, now=now)
    headers = {"X-Courseweb-Email": f"{row.kind}:{row.pk}"}
    user = context["user"]
    if stencils is None or row.kind != SentEmail.Kind.PRELAUNCH:
        return mail.render(row.kind, to=user.email, subject=subject, context=context, zone=zone, headers=headers)
    # The student's own strings; the rest of the email is the same for everyone with the same key.
    personal = {"first_name": user.first_name, "email": user.email}
    same = ("run", "tier", "has_started", "access_ends_at", "has_password")
    key = (row.kind, subject, str(zone), *(context[name] for name in same), *map(bool, personal.values()))
    if key not in stencils:
        # A student made of holes and nothing else (no one's data in a shared email); no enrollment, no payment.
        stand_in = type(user)(**{name: mail.hole(name) if value else "" for name, value in personal.items()})
        shared = {**context, "user": stand_in, "enrollment": None}
        try:
            stencils[key] = mail.Stencil(row.kind, subject=subject, context=shared, zone=zone)
        except ValueError:
            logger.exception("The %s email cannot be rendered once for many students", row.kind)
            stencils[key] = None
    if stencils[key] is None:
        return mail.render(row.kind, to=user.email, subject=subject, context=context, zone=zone, headers=headers)
    return stencils[key].message(to=user.email, values=personal, headers=headers)


def _email_of(row: SentEmail, *, sections, links, now):
    """The subject, template context and zone of one row's email."""
    enrollment = row.enrollment
    user, run, course, tier = enrollment.user, enrollment.run, enrollment.run.course, enrollment.tier
    zone = mail.recipient_zone(user)
    payment = None
    if row.kind == SentEmail.Kind.WELCOME:
        payment = enrollment.payments.order_by("-created_at").first()
    starts_at = timezone.localtime(run.starts_at, zone)
    has_started = run.starts_at <= now
    template = SUBJECTS[row.kind]
    if row.kind == SentEmail.Kind.PRELAUNCH and has_started:
        template = PRELAUNCH_LATE_SUBJECT
    subject = template.format(course=course.title, date=f"{starts_at.day} {starts_at:%B %Y}")
    context = {
        "user": user,
        "run": run,
        "course": course,
        "tier": tier,
        "enrollment": enrollment,
        "sections": sections,
        "starts_at": starts_at,
        "has_started": has_started,
        "access_ends_at": timezone.localtime(enrollment.access_ends_at, zone),
        "has_password": user.has_usable_password(),
        **(links or email_links(course)),
        "payment": payment,
        "amount": format_amount(payment.amount_total, payment.currency) if payment else "",
        "paid_at": timezone.localtime(payment.paid_at or payment.created_at, zone) if payment else None,
    }
    return subject, context, zone


def deliver_extensions() -> int:
    """Send the queued "your access was extended" emails, each claimed, sent and marked in one transaction.

    As deliver_queued: SELECT … FOR UPDATE SKIP LOCKED per row, so two workers never send one row and a
    dead worker's claim rolls back. A row whose enrollment was extended again since (the newer email tells
    it) or is no longer active is skipped. Errors that may pass propagate and leave the row queued: retry.
    """
    queued = Extension.objects.filter(status=Extension.Status.QUEUED).order_by("pk").values_list("pk", flat=True)
    return mail.deliver_outbox(queued, claim=_claim_extension, message_for=_extension_message)


def _claim_extension(pk: int) -> Extension | None:
    """Lock the row if it is still queued and no other transaction holds it; None when it is taken or done."""
    return (
        Extension.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("enrollment__user", "enrollment__run__course", "enrollment__tier")
        .filter(pk=pk, status=Extension.Status.QUEUED)
        .first()
    )


def _extension_message(row: Extension) -> EmailMultiAlternatives | None:
    """The email, or None when the enrollment was extended again since (the newer one tells it) or is not active."""
    enrollment = row.enrollment
    if enrollment.status != Enrollment.Status.ACTIVE or enrollment.extended_until != row.until:
        return None
    return build_extension_message(row)


def build_extension_message(row: Extension) -> EmailMultiAlternatives:
    """Render the extension email in the student's zone; its Message-ID comes from the row."""
    enrollment = row.enrollment
    user, run, course = enrollment.user, enrollment.run, enrollment.run.course
    zone = mail.recipient_zone(user)
    until = timezone.localtime(row.until, zone)
    subject = EXTENDED_SUBJECT.format(course=course.title, date=f"{until.day} {until:%B %Y}")
    context = {
        "user": user,
        "run": run,
        "course": course,
        "until": until,
        "previous_end": timezone.localtime(row.previous_end, zone),
        "course_url": mail.absolute(reverse("courses:home", args=[course.slug])),
        "profile_url": mail.absolute(reverse("profile")),
    }
    return mail.render("access_extended", to=user.email, subject=subject, context=context, zone=zone,
                       headers={"X-Courseweb-Email": f"extension:{row.pk}"},
                       message_id=mail.message_id("extension", row.pk))  # fmt: skip
