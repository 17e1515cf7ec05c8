"""bulk_enroll over generated files: it fails and changes nothing, or enrolls every row; never half of it."""

import csv
import io
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from accounts.models import User
from enrollment.models import Enrollment
from tests.enrollment.helpers import roster_state
from tests.factories import EnrollmentFactory, OfficeHoursTierFactory, RunFactory, TierFactory, UserFactory

pytestmark = pytest.mark.django_db

RANK = {"standard": 0, "office-hours": 1}
POOL = [f"new{n}@example.com" for n in range(6)] + [f"old{n}@example.com" for n in range(4)]
VALID_TIERS = {"": None, "standard": "standard", " STANDARD ": "standard", "office-hours": "office-hours",
               "Office Hours": "office-hours", "office_hours": "office-hours"}  # fmt: skip
BAD_EMAILS = ["not-an-email", "a@", "@example.com", "two words@example.com", "", "a@@example.com"]
BAD_TIERS = ["gold", "premium", "office"]
names = st.text(st.characters(exclude_categories=("Cc", "Cs")), max_size=12)


@st.composite
def spelled(draw, email):
    """The same address as a spreadsheet might hold it: any case, spaces around."""
    upper = draw(st.lists(st.booleans(), min_size=len(email), max_size=len(email)))
    cased = "".join(char.upper() if up else char for char, up in zip(email, upper, strict=True))
    return draw(st.sampled_from(["", " ", "  "])) + cased + draw(st.sampled_from(["", " "]))


@st.composite
def rows(draw):
    """(cells, email or None if the row is bad, tier value as written)."""
    kind = draw(st.sampled_from(["valid"] * 6 + ["bad email", "bad tier"]))
    tier = draw(st.sampled_from(sorted(VALID_TIERS)))
    if kind == "bad email":
        email = draw(st.sampled_from(BAD_EMAILS))
    else:
        email = draw(st.sampled_from(POOL).flatmap(lambda email: spelled(email)))
    if kind == "bad tier":
        tier = draw(st.sampled_from(BAD_TIERS))
    cells = {"email": email, "first_name": draw(names), "last_name": draw(names), "tier": tier}
    return cells, (None if kind != "valid" else email.strip().lower()), tier


@st.composite
def roster_files(draw):
    columns = draw(st.permutations(["email", "first_name", "last_name", "tier"]))
    drawn = draw(st.lists(rows(), min_size=1, max_size=12))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator=draw(st.sampled_from(["\n", "\r\n"])))
    writer.writerow(columns)
    for cells, _, _ in drawn:
        writer.writerow([cells[column] for column in columns])
        if draw(st.integers(0, 9)) == 0:
            writer.writerow([])  # a blank line, as spreadsheets leave
    data = out.getvalue().encode()
    if draw(st.booleans()):
        data = b"\xef\xbb\xbf" + data
    # A row with nothing in it is a blank line, and is left out.
    return data, [(email, tier) for cells, email, tier in drawn if any(value.strip() for value in cells.values())]


def expected_outcome(drawn, option):
    """Return {email: tier kind} the file asks for, or None if the file must be refused."""
    wanted = {}
    for email, tier_value in drawn:
        if email is None:
            return None
        tier = VALID_TIERS[tier_value] or option or "standard"
        if wanted.setdefault(email, tier) != tier:
            return None
    return wanted


@pytest.fixture
def world():
    run = RunFactory(slug="generated", starts_at=timezone.now() + timedelta(days=1))
    tiers = {"standard": TierFactory(run=run), "office-hours": OfficeHoursTierFactory(run=run)}
    EnrollmentFactory(user=UserFactory(email="old0@example.com"), run=run, tier=tiers["standard"])
    EnrollmentFactory(user=UserFactory(email="old1@example.com"), run=run, tier=tiers["office-hours"])
    EnrollmentFactory(
        user=UserFactory(email="old2@example.com"), run=run, tier=tiers["standard"], status=Enrollment.Status.REFUNDED
    )
    UserFactory(email="old3@example.com")
    return run


@settings(max_examples=40, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(file=roster_files(), option=st.sampled_from([None, "standard", "office-hours"]), no_email=st.booleans())
def test_generated_file_is_applied_whole_or_not_at_all(tmp_path, world, file, option, no_email):
    data, drawn = file
    path = tmp_path / "roster.csv"
    path.write_bytes(data)
    args = [str(path), "--run", world.slug] + (["--tier", option] if option else []) + (["--no-email"] * no_email)
    wanted = expected_outcome(drawn, option)
    # Each example starts from the same database: its writes are rolled back at the end.
    with transaction.atomic():
        before = roster_state()
        existing = {e.user.email: (e.tier.kind, e.status) for e in Enrollment.objects.select_related("user", "tier")}
        event("refused" if wanted is None else "applied")
        if wanted is None:
            with pytest.raises(CommandError):
                call_command("bulk_enroll", *args, stdout=io.StringIO(), stderr=io.StringIO())
            assert roster_state() == before
        else:
            call_command("bulk_enroll", *args, stdout=io.StringIO(), stderr=io.StringIO())
            enrolled = {
                e.user.email: (e.tier.kind, e.status)
                for e in Enrollment.objects.filter(run=world).select_related("user", "tier")
            }
            for email, tier in wanted.items():
                current = existing.get(email)
                if current is None:
                    assert enrolled[email] == (tier, Enrollment.Status.ACTIVE)
                elif current[1] != Enrollment.Status.ACTIVE:
                    assert enrolled[email] == current
                else:
                    assert enrolled[email] == (max(current[0], tier, key=RANK.get), Enrollment.Status.ACTIVE)
            assert set(enrolled) == set(existing) | set(wanted)
            assert User.objects.count() == len(before["users"]) + len(set(wanted) - {u[0] for u in before["users"]})
            # The same file again changes nothing.
            after = roster_state()
            call_command("bulk_enroll", *args, stdout=io.StringIO(), stderr=io.StringIO())
            assert roster_state() == after
        transaction.set_rollback(True)
