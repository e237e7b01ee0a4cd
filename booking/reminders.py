"""Email reminders to invitees: planned with the booking, sent by beat-driven work, once.

Planning (``reminders_plan``) runs as a ``booking_event_recorded`` receiver, inside the
transaction that confirms, moves or cancels the booking. It writes one
``InviteeReminder`` row per offset of the page for the booking's current version (a
unique row per booking, version and offset) and lets go of the rows of earlier
versions: a move re-plans, a cancel stops. A reminder whose moment had already passed
when the booking was made or moved is written as skipped and never sent.

Sending: beat's ``invitee-reminders`` entry (every ``REMINDER_INTERVAL`` seconds) queues
one task per due row (``reminders_dispatch``); the task (``reminder_send``) claims the
row with a conditional UPDATE (``outbox.claims``: pending, due, not held) before the
email goes, and settles it after. Two workers, a redelivered message or a restarted
worker find the row claimed or settled and send nothing. Just before sending, the row
is checked against the booking once more: still confirmed, still this version, not yet
started, and no later reminder of the same booking also due (after downtime only the
latest due reminder goes, so an invitee gets at most one late reminder). Once the email
is written, the booking's state and version are read again (one query) and the email
goes only if neither changed: a move or cancel that committed while it was written
stops it. A mail server that refuses is tried again, but never after the meeting's start.

A worker killed after the mail server took the email but before it recorded that
(seconds, at most) sends it again when its lease runs out: at-least-once there, as
every outbox is; every other race sends exactly once.
"""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import QuerySet
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from booking.events import BookingEvent, BookingEventKind
from booking.locales import language_of, moment_text, zone_text
from booking.models import Booking, BookingStatus, InviteeReminder, ReminderState
from booking.tokens import booking_paths
from calendars.models import PushedEvent
from calendars.selectors import meetings_held
from ops.compiled_inserts import insert_values
from ops.compiled_queries import query_rows, reads
from ops.mail import Email
from outbox.claims import claim_take
from outbox.mail import mail_error_text
from outbox.outcomes import Outcome, Status
from outbox.sweeper import items_requeue

logger = logging.getLogger(__name__)

REMINDER_TASK = "booking.tasks.send_invitee_reminder"
REMINDER_LEASE = 120
# Seconds before a due reminder nobody took is queued again by the next beat run.
REMINDER_REQUEUE_AFTER = 120
# Waits before retrying a refused send (never past the meeting's start).
REMINDER_RETRY_DELAYS = (30, 120, 300, 600)

# Stored in English (logs, the database); Setup shows them translated.
SKIP_CANCELLED = gettext_noop("the meeting was cancelled")
SKIP_MOVED = gettext_noop("the meeting moved (a new reminder was planned)")
SKIP_TOO_LATE = gettext_noop("booked after this reminder's time")
SKIP_STARTED = gettext_noop("the meeting had started")
SKIP_SUPERSEDED = gettext_noop("a later reminder was due too; only that one was sent")


def on_booking_event(sender, *, event: BookingEvent, **kwargs) -> None:
    """``booking_event_recorded`` receiver: plan (or stop) the booking's reminders."""
    booking = event.booking or Booking.objects.select_related("page").get(pk=event.booking_id)
    if event.kind == BookingEventKind.CONFIRMED:
        reminders_plan_new(booking=booking, now=event.occurred_at)
    else:
        reminders_plan(booking=booking, now=event.occurred_at)


def reminders_plan(*, booking: Booking, now: datetime) -> list[InviteeReminder]:
    """Make the pending reminders match the booking as it now is (in its transaction).

    Rows of earlier versions still pending are skipped; for a confirmed booking a row
    per page offset is written for this version (once: planning twice changes nothing).
    Returns the rows that will be sent.
    """
    stale = InviteeReminder.objects.filter(booking=booking, state=ReminderState.PENDING)
    if booking.is_confirmed:
        stale = stale.exclude(booking_version=booking.sequence)
    stale.update(
        state=ReminderState.SKIPPED,
        skip_reason=SKIP_MOVED if booking.is_confirmed else SKIP_CANCELLED,
        next_attempt_at=None,
        updated_at=now,
    )
    planned = []
    for wanted in _wanted_rows(booking=booking, now=now):
        row, _created = InviteeReminder.objects.get_or_create(
            booking=booking,
            booking_version=wanted["booking_version"],
            offset_minutes=wanted["offset_minutes"],
            defaults={
                "due_at": wanted["due_at"],
                "next_attempt_at": wanted["next_attempt_at"],
                "state": wanted["state"],
                "skip_reason": wanted["skip_reason"],
            },
        )
        if row.state == ReminderState.PENDING:
            planned.append(row)
    return planned


def reminders_plan_new(*, booking: Booking, now: datetime) -> list[int]:
    """``reminders_plan`` for a booking just made (which has no reminders yet): its rows
    in one INSERT, from plain values (no instances: nothing in the request reads them).
    Returns the ids of the rows that will be sent."""
    rows = _wanted_rows(booking=booking, now=now)
    ids = insert_values(InviteeReminder, rows)
    return [pk for pk, row in zip(ids, rows, strict=True) if row["state"] == ReminderState.PENDING]


def _wanted_rows(*, booking: Booking, now: datetime) -> list[dict]:
    """A confirmed booking's reminders for its current version, one per page offset, latest
    first, as the values of their rows (not saved); a reminder whose moment has passed is
    skipped from the start."""
    if not booking.is_confirmed or booking.page is None:
        return []
    rows = []
    for offset in sorted(set(booking.page.reminder_offsets or []), reverse=True):
        due = booking.start - timedelta(minutes=offset)
        late = due <= now
        rows.append(
            {
                "booking_id": booking.pk,
                "booking_version": booking.sequence,
                "offset_minutes": offset,
                "due_at": due,
                "next_attempt_at": None if late else due,
                "state": str(ReminderState.SKIPPED if late else ReminderState.PENDING),
                "skip_reason": SKIP_TOO_LATE if late else "",
            }
        )
    return rows


SKIP_REMOVED = gettext_noop("the booking page no longer sends this reminder")


def reminders_follow_page(*, page, now: datetime | None = None) -> int:
    """After the page's reminder offsets changed: its meetings still to come get the new
    offsets (where their moment is still ahead) and lose the removed ones. In the
    caller's transaction; how many reminders were added."""
    now = now or timezone.now()
    offsets = sorted(set(page.reminder_offsets or []))
    InviteeReminder.objects.filter(booking__page=page, state=ReminderState.PENDING).exclude(
        offset_minutes__in=offsets
    ).update(
        state=ReminderState.SKIPPED, skip_reason=SKIP_REMOVED, next_attempt_at=None, updated_at=now
    )
    upcoming = Booking.objects.filter(page=page, status="confirmed", start__gt=now).only(
        "pk", "start", "sequence"
    )
    rows = [
        InviteeReminder(
            booking_id=booking.pk,
            booking_version=booking.sequence,
            offset_minutes=offset,
            due_at=booking.start - timedelta(minutes=offset),
            next_attempt_at=booking.start - timedelta(minutes=offset),
        )
        for booking in upcoming.iterator(chunk_size=2000)
        for offset in offsets
        if booking.start - timedelta(minutes=offset) > now
    ]
    # An offset the booking already has (sent, skipped or pending) is left as it is.
    made = InviteeReminder.objects.bulk_create(rows, batch_size=2000, ignore_conflicts=True)
    return len(made)


def reminders_dispatch(
    *, now: datetime | None = None, send: Callable[[int], object] | None = None
) -> list[int]:
    """Queue a task for every due reminder nobody holds or queued lately (beat, each minute).

    ``send(pk)`` queues one (default: the reminder task through the broker).
    """
    now = now or timezone.now()
    ids = items_requeue(
        items=InviteeReminder.objects.all(),
        task=REMINDER_TASK,
        now=now,
        requeue_after=REMINDER_REQUEUE_AFTER,
        send=send,
    )
    if ids:
        logger.info("invitee reminders: queued %d due reminder(s)", len(ids))
    return ids


def reminder_send(*, reminder_id: int, now: datetime | None = None) -> Outcome:
    """Send one due reminder if it is still wanted; idempotent. Never called in a request."""
    now = now or timezone.now()
    claim = claim_take(
        items=InviteeReminder.objects.select_related("booking__host", "booking__page"),
        pk=reminder_id,
        lease_seconds=REMINDER_LEASE,
        now=now,
    )
    if claim is None:
        return Outcome(Status.SKIPPED)
    reminder: InviteeReminder = claim.item
    reason = _reason_not_to_send(reminder, now=now)
    if reason:
        claim.settle(state=ReminderState.SKIPPED, skip_reason=reason, next_attempt_at=None)
        logger.info("reminder %s: not sent (%s)", reminder.pk, reason)
        return Outcome(Status.SKIPPED)
    message = _reminder_email(reminder.booking)
    # Rendering reads more (the join link): a move or cancel may have committed since the
    # claim read the booking. Looked at once more, the moment before the email goes.
    reason = _reason_changed_since_read(reminder)
    if reason:
        claim.settle(state=ReminderState.SKIPPED, skip_reason=reason, next_attempt_at=None)
        logger.info("reminder %s: not sent (%s, while it was written)", reminder.pk, reason)
        return Outcome(Status.SKIPPED)
    try:
        message.send()
    except (smtplib.SMTPException, OSError) as error:
        return _retry_or_give_up(claim, reminder, error, now=now)
    claim.settle(state=ReminderState.SENT, sent_at=now, next_attempt_at=None, last_error="")
    logger.info("reminder %s of booking %s: sent", reminder.pk, reminder.booking_id)
    return Outcome(Status.SYNCED)


def _reason_not_to_send(reminder: InviteeReminder, *, now: datetime) -> str:
    booking = reminder.booking
    if not booking.is_confirmed:
        return SKIP_CANCELLED
    if booking.sequence != reminder.booking_version:
        return SKIP_MOVED
    if now >= booking.start:
        return SKIP_STARTED
    later_due = InviteeReminder.objects.filter(
        booking_id=booking.pk,
        booking_version=reminder.booking_version,
        due_at__gt=reminder.due_at,
        due_at__lte=now,
        state__in=(ReminderState.PENDING, ReminderState.SENT),
    )
    if later_due.exists():
        return SKIP_SUPERSEDED
    return ""


def _reason_changed_since_read(reminder: InviteeReminder) -> str:
    """Why not to send after all: the booking was cancelled or moved (a new version) since
    the claim read it; "" when it is as read. One query on the booking's key."""
    now_row = (
        Booking.objects.filter(pk=reminder.booking_id).values_list("status", "sequence").first()
    )
    if now_row is None or now_row[0] != BookingStatus.CONFIRMED:
        return SKIP_CANCELLED
    if now_row[1] != reminder.booking_version:
        return SKIP_MOVED
    return ""


def _retry_or_give_up(claim, reminder: InviteeReminder, error: Exception, *, now: datetime):
    text = mail_error_text(error)
    index = min(reminder.attempts, len(REMINDER_RETRY_DELAYS)) - 1
    delay = REMINDER_RETRY_DELAYS[index]
    if reminder.attempts > len(REMINDER_RETRY_DELAYS) or (
        now + timedelta(seconds=delay) >= reminder.booking.start
    ):
        claim.settle(state=ReminderState.FAILED, next_attempt_at=None, last_error=text)
        logger.error("reminder %s: gave up (%s)", reminder.pk, text)
        return Outcome(Status.FAILED)
    claim.retry_later(delay=delay, error=text)
    logger.warning("reminder %s: %s; trying again in %s s", reminder.pk, text, delay)
    return Outcome(Status.RETRY, retry_in=delay)


def join_url_for(*, booking: Booking) -> str:
    """The online meeting's join link once the calendar made one ("" until then): the link
    of the event that holds the booking's meeting (``calendars.selectors.meetings_held``)."""
    rows = query_rows(_join_urls, booking.mirror_source)
    return rows[0][0] if rows else ""


def join_urls_live(*, source: str) -> list[str]:
    """The join links of every wanted event mirroring ``source``, the join link
    (``join_url_for``) first."""
    return [url for (url,) in query_rows(_all_join_urls, source)]


@reads(PushedEvent)
def _join_urls(source: str) -> QuerySet:
    return _all_join_urls(source)[:1]


@reads(PushedEvent)
def _all_join_urls(source: str) -> QuerySet:
    rows = meetings_held().filter(source=source)
    return rows.order_by("pk").values_list("online_meeting_url")


def _reminder_email(booking: Booking) -> Email:
    zone = ZoneInfo(booking.invitee_time_zone)
    start = booking.start.astimezone(zone)
    host = booking.host.get_full_name()
    links = {key: settings.SITE_URL + path for key, path in booking_paths(booking).items()}
    context = {
        "booking": booking,
        "host": host,
        "start": start,
        "end": booking.end.astimezone(zone),
        "zone": booking.invitee_time_zone,
        "zone_text": zone_text(booking.invitee_time_zone, booking.start, booking.invitee_locale),
        "links": links,
        "join_url": join_url_for(booking=booking),
        "locale": booking.invitee_locale,
    }
    with translation.override(language_of(booking.invitee_locale)):
        when = moment_text(start, booking.invitee_time_zone, booking.invitee_locale)
        subject = _("Reminder: %(title)s with %(host)s on %(when)s") % {
            "title": booking.title,
            "host": host,
            "when": when,
        }
        return Email(
            subject=" ".join(subject.split()),
            body=render_to_string("booking/email/reminder.txt", context),
            to=[booking.invitee_email],
            reply_to=[booking.host.email],
        )
