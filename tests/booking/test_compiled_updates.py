"""An UPDATE compiled once is the ORM's UPDATE, for any values: the same statement, the
same rows changed; the claims' and the mailbox slots' conditions are the ORM's filters."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection, transaction
from django.db.models import F
from django.db.models.functions import Now
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from booking.models import BookingEmail, BookingPage, EmailState
from booking.services.bookings import Invitee, booking_create
from calendars.models import MailboxSlot
from calendars.services import mailbox_slots
from calendars.services.mailbox_slots import mailbox_slot_release, mailbox_slot_take
from ops.compiled_queries import update_rows, writes
from outbox import claims
from outbox.claims import DUE_TOLERANCE, claim_take, is_due, is_unclaimed
from outbox.models import PENDING
from tests.support.booking import at, workday

pytestmark = pytest.mark.django_db
DANA = Invitee("Dana Invitee", "dana@example.com", "UTC")
NOW = datetime(2026, 1, 7, 9, 30, 15, 250_000, tzinfo=UTC)  # a time gone by
SECOND = timedelta(seconds=1)


def _updates(captured: CaptureQueriesContext) -> list[str]:
    return [query["sql"] for query in captured.captured_queries if query["sql"].startswith("UP")]


def _as_the_orm(build, *values, fixed=()) -> int:
    """Run ``build``'s update compiled and by the ORM (each rolled back): the same
    statement, values in place, and the same number of rows; that number."""
    queryset, assigned = build(*fixed, *values)
    with CaptureQueriesContext(connection) as orms, transaction.atomic():
        expected = queryset.update(**assigned)
        transaction.set_rollback(True)
    with CaptureQueriesContext(connection) as ours, transaction.atomic():
        changed = update_rows(build, *values, fixed=fixed, using="default")
        transaction.set_rollback(True)
    assert _updates(ours) == _updates(orms)
    assert len(_updates(ours)) == 1
    assert changed == expected
    return changed


@pytest.fixture
def email(page) -> BookingEmail:
    booking_create(page=page, start=at(workday("Europe/London"), 10), invitee=DANA)
    return BookingEmail.objects.get()


def _claim_states():
    leases = [None, NOW - SECOND, NOW, NOW + SECOND]
    dues = [None, NOW, NOW + DUE_TOLERANCE, NOW + DUE_TOLERANCE + SECOND]
    return itertools.product([PENDING, EmailState.SENT], leases, dues)


def test_a_claim_is_taken_exactly_when_the_orms_filters_match(email):
    items = BookingEmail.objects.all()
    for state, claimed_until, next_attempt_at in _claim_states():
        BookingEmail.objects.filter(pk=email.pk).update(
            state=state, claimed_until=claimed_until, next_attempt_at=next_attempt_at
        )
        orm = BookingEmail.objects.filter(pk=email.pk, state=PENDING)
        orm = orm.filter(is_unclaimed(now=NOW)).filter(is_due(by=NOW + DUE_TOLERANCE))
        expected = (
            state == PENDING
            and (claimed_until is None or claimed_until <= NOW)
            and (next_attempt_at is None or next_attempt_at <= NOW + DUE_TOLERANCE)
        )
        assert orm.exists() == expected
        shape = (state, claimed_until, next_attempt_at)
        # The statement is the ORM's, values in place (a lease of 60 s, a known token) ...
        until = NOW + timedelta(seconds=60)
        values = (email.pk, "t" * 32, until, NOW, NOW + DUE_TOLERANCE)
        assert _as_the_orm(claims._take, *values, fixed=(BookingEmail,)) == expected, shape
        # ... and the claim is taken when it matches, with its lease and one more attempt.
        attempts = BookingEmail.objects.get(pk=email.pk).attempts
        claim = claim_take(items=items, pk=email.pk, lease_seconds=60, now=NOW)
        assert (claim is not None) == expected, shape
        row = BookingEmail.objects.get(pk=email.pk)
        if expected:
            assert (row.claimed_by, row.claimed_until) == (claim.token, until)
            assert (row.attempts, row.updated_at) == (attempts + 1, NOW)
        else:
            assert (row.claimed_until, row.attempts) == (claimed_until, attempts)


def test_a_claimed_write_is_the_orms_for_nulls_values_and_a_lost_claim(email):
    claim = claim_take(items=BookingEmail.objects.all(), pk=email.pk, lease_seconds=60)
    sent = timezone.now()
    held = (BookingEmail, ("state", "claimed_until", "note", "invitee_sent_at"), ())
    for token in (claim.token, "another-worker"):
        for unchanged in ((), ("host_sent_at",), ("host_sent_at", "booking_version")):
            fixed = (*held[:2], unchanged)
            for kept in ((None, 0), (sent, 0), (None, 1)):
                values = (EmailState.SENT, None, "a note", sent, *kept[: len(unchanged)])
                _as_the_orm(claims._held, email.pk, token, *values, fixed=fixed)
    # The host's email is not sent yet (null): held with "still null", not with a time.
    assert not claim.settle(state=EmailState.SENT, unchanged={"host_sent_at": sent})
    claim = claim_take(items=BookingEmail.objects.all(), pk=email.pk, lease_seconds=60)
    assert claim.settle(state=EmailState.SENT, unchanged={"host_sent_at": None}, note="")
    assert BookingEmail.objects.get(pk=email.pk).state == EmailState.SENT


def test_a_mailbox_slot_is_taken_exactly_when_it_is_free_as_the_orm_reads_it():
    MailboxSlot.objects.create(mailbox="office365:a", slot=0)
    for leased_until in (None, NOW - SECOND, NOW, NOW + SECOND):
        MailboxSlot.objects.update(holder="someone", leased_until=leased_until)
        free = MailboxSlot.objects.filter(mailbox_slots._free(NOW)).exists()
        assert free == (leased_until is None or leased_until <= NOW)
        until = NOW + timedelta(seconds=60)
        assert _as_the_orm(mailbox_slots._take, "office365:a", 0, "me", until, NOW) == free
        assert _as_the_orm(mailbox_slots._take, "office365:a", 1, "me", until, NOW) == 0
        holder = mailbox_slot_take(mailbox="office365:a", limit=1, now=NOW)
        assert (holder is not None) == free
        assert _as_the_orm(mailbox_slots._release, "office365:a", holder or "someone") == 1
        mailbox_slot_release(mailbox="office365:a", holder=holder or "nobody")
        slot = MailboxSlot.objects.get()
        if free:
            assert (slot.holder, slot.leased_until) == ("", None)
        else:
            assert (slot.holder, slot.leased_until) == ("someone", leased_until)


BUILT: list[tuple] = []


@writes(BookingEmail)
def _retried(pk: int, more: int, error: str, before: datetime | None, due: datetime | None):
    """F() in the condition and in an assignment (with a value), None as IS NULL / = NULL,
    the database's clock."""
    BUILT.append((pk, more, error, before, due))
    rows = BookingEmail.objects.filter(pk=pk, next_attempt_at__lte=F("claimed_until"))
    rows = rows.filter(invitee_sent_at=before)
    assigned = {"attempts": F("attempts") + more, "last_error": error, "next_attempt_at": due}
    return rows, {**assigned, "updated_at": Now()}


def test_expressions_nulls_and_the_clock_are_the_orms_and_compile_once_per_shape(email):
    BUILT.clear()
    BookingEmail.objects.filter(pk=email.pk).update(next_attempt_at=NOW, claimed_until=NOW)
    for before in (None, NOW, NOW + SECOND):
        for due in (None, NOW):
            for lease in (NOW - SECOND, NOW, NOW + SECOND):
                BookingEmail.objects.filter(pk=email.pk).update(claimed_until=lease)
                matches = lease >= NOW and before is None  # the invitee's email is unsent
                assert _as_the_orm(_retried, email.pk, 2, "refused", before, due) == matches
    # One compilation (built twice: two sets of marks) for each of the four shapes of
    # None, besides the 18 builds for the ORM's side of each comparison.
    assert len(BUILT) == 18 + 2 * 4
    BookingEmail.objects.filter(pk=email.pk).update(claimed_until=NOW, attempts=1)
    assert update_rows(_retried, email.pk, 3, "refused", None, None) == 1
    row = BookingEmail.objects.get(pk=email.pk)
    assert (row.attempts, row.last_error, row.next_attempt_at) == (4, "refused", None)
    assert row.updated_at > NOW  # the database's clock, not a value compiled in
    assert len(BUILT) == 18 + 2 * 4


@writes(BookingPage)
def _offsets(pk: int, offsets, title: str):
    return BookingPage.objects.filter(pk=pk), {"reminder_offsets": offsets, "title": title}


def test_a_value_of_any_kind_is_assigned_as_its_field_saves_it(page):
    for offsets in ([60], [1440, 60], {"odd": "but JSON"}, [{"minutes": 60}, "x"]):
        assert _as_the_orm(_offsets, page.pk, offsets, "Intro") == 1
        assert update_rows(_offsets, page.pk, offsets, "Intro") == 1
        page.refresh_from_db()
        assert (page.reminder_offsets, page.title) == (offsets, "Intro")


@writes(MailboxSlot)
def _due_soon(mailbox: str, now: datetime):
    soon = now + DUE_TOLERANCE  # transformed: not the value it was given
    return MailboxSlot.objects.filter(mailbox=mailbox, leased_until__lte=soon), {"holder": ""}


@writes(MailboxSlot)
def _held_now(mailbox: str):
    now = timezone.now()  # the build's own clock would be frozen into the SQL
    return MailboxSlot.objects.filter(mailbox=mailbox, leased_until__gt=now), {"holder": ""}


@writes(MailboxSlot)
def _by_holder(mailbox: str, holder: str):
    # The value is used once, as it is (as the claims' token is).
    return MailboxSlot.objects.filter(mailbox=mailbox, holder__startswith=holder), {"holder": ""}


def test_a_value_the_query_transforms_or_a_clock_of_its_own_is_refused():
    with pytest.raises(RuntimeError, match="did not land"):
        update_rows(_due_soon, "office365:a", NOW)
    with pytest.raises(RuntimeError, match="changes with the values"):
        update_rows(_held_now, "office365:a")
    with pytest.raises(RuntimeError, match="did not land"):
        update_rows(_by_holder, "office365:a", "me")  # "me%"
    with pytest.raises(TypeError, match="expressions"):
        update_rows(mailbox_slots._release, "office365:a", F("holder"))


def test_a_claim_on_postgresql_is_one_statement_that_reads_the_row_as_it_took_it(email):
    items = BookingEmail.objects.select_related("booking__host")
    host_email = email.booking.host.email
    with CaptureQueriesContext(connection) as captured:
        claim = claim_take(items=items, pk=email.pk, lease_seconds=60, now=NOW)
    # PostgreSQL: WITH <table> AS (UPDATE … RETURNING …) SELECT …; elsewhere UPDATE, SELECT.
    assert len(captured) == (1 if connection.vendor == "postgresql" else 2)
    row = BookingEmail.objects.get(pk=email.pk)
    taken = claim.item
    assert (taken.claimed_by, taken.claimed_until) == (claim.token, NOW + timedelta(seconds=60))
    assert (taken.attempts, taken.updated_at) == (row.attempts, row.updated_at) == (1, NOW)
    with CaptureQueriesContext(connection) as captured:
        assert taken.booking.host.email == host_email  # read with the claim
    assert len(captured) == 0
    # Held by a live claim: not taken again, and nothing changes.
    assert claim_take(items=items, pk=email.pk, lease_seconds=60, now=NOW) is None
    assert BookingEmail.objects.get(pk=email.pk).attempts == 1
    # The claim's writes stay fenced by its token.
    claim.token = "another-worker"
    assert not claim.release()
