"""Meetings: what Exchange does with an organizer's event that has attendees.

When an organizer saves an event with attendees, Exchange sends each one a meeting
request, and the meeting appears in each attendee's own default calendar as a copy of
its own: same ``iCalUId``, subject, body, times, location and online-meeting join
link, the organizer named as ``organizer``, shown as ``tentative`` until the attendee
answers, with the attendee's own reminder (Outlook's default, 15 minutes) rather than
the organizer's. An organizer's later change updates the copies; cancelling the
meeting marks each copy ``isCancelled`` with "Canceled: " before its subject, and it
stays until the attendee removes it. Addresses outside the sandbox get nothing (the
mail would leave Exchange); rooms are not attendees' calendars here.

Called by ``graph_sandbox.graph.events`` inside its write; every copy made or changed
is a change that subscriptions and delta queries see, as any other.
"""

from __future__ import annotations

import uuid

from django.db.models import QuerySet

from graph_sandbox.clock import sandbox_now
from graph_sandbox.graph.series import HISTORY_KEPT, exceptions_drop, occurrence_make, timing_of
from graph_sandbox.ids import graph_id
from graph_sandbox.models import Calendar, Event, Mailbox, MailboxKind
from graph_sandbox.recurrence import Occurrence, occurrence_id
from graph_sandbox.subscriptions.outbox import change_record
from ops.compiled_queries import query_objects, reads

ATTENDEE_REMINDER_MINUTES = 15
CANCELED = "Canceled: "
# What an organizer's change carries over to the attendees' copies.
SHARED_FIELDS = (
    "subject",
    "body_content_type",
    "body_content",
    "start",
    "end",
    "start_time_zone",
    "end_time_zone",
    "is_all_day",
    "location",
    "attendees",
    "is_online_meeting",
    "online_meeting_provider",
    "join_url",
    "sensitivity",
    "importance",
    "recurrence",
    "series_end",
)


def is_organizers_copy(event: Event) -> bool:
    return event.organizer_id is not None and event.organizer_id == event.calendar.owner_id


def meeting_requests_send(*, event: Event, stamp, new: bool = False) -> None:
    """Make or update every sandbox attendee's copy of the organizer's ``event``; an
    attendee no longer invited gets the cancellation. ``new``: the event was just made,
    under a new iCalendar UID, so no copy of it can exist yet."""
    if not is_organizers_copy(event) or event.deleted:
        return
    invited = _attendee_mailboxes(event)
    copies = {} if new else _copies(event)
    for mailbox in invited:
        copy = copies.pop(mailbox.pk, None)
        if copy is None:
            _copy_create(event=event, mailbox=mailbox, stamp=stamp)
        else:
            _copy_update(event=event, copy=copy, stamp=stamp)
    for copy in copies.values():
        _copy_cancel(copy=copy, stamp=stamp)


def meeting_cancel(*, event: Event, stamp) -> None:
    """The organizer deleted the meeting: every attendee's copy is marked cancelled."""
    if not is_organizers_copy(event):
        return
    for copy in _copies(event).values():
        _copy_cancel(copy=copy, stamp=stamp)


def occurrence_cancel_for_attendees(*, master: Event, original_start, stamp) -> None:
    """The organizer removed one occurrence of a meeting series: in each attendee's copy
    of the series that occurrence becomes a cancelled exception ("Canceled: …"), which
    stays until the attendee removes it."""
    if not is_organizers_copy(master):
        return
    duration = master.end - master.start
    for copy in _copies(master).values():
        if not copy.recurrence or copy.is_cancelled:
            continue
        if Event.objects.filter(series_master=copy, original_start=original_start).exists():
            continue
        occurrence = occurrence_make(
            copy, Occurrence(original_start, original_start, original_start + duration)
        )
        row = Event(
            **{
                f.attname: getattr(occurrence, f.attname)
                for f in Event._meta.concrete_fields
                if f.attname != "id"
            }
        )
        row.graph_id = occurrence_id(copy.graph_id, original_start)
        row.series_master, row.original_start = copy, original_start
        row.recurrence, row.series_end, row.timing_history = None, None, []
        row.ical_uid = "040000008200E00074C5B7101A82E008" + uuid.uuid4().hex.upper()
        row.is_cancelled = True
        row.subject = (CANCELED + row.subject)[:255]
        stamp(row, sandbox_now())
        row.save()
        change_record(event=row, change_type="updated")


def _attendee_mailboxes(event: Event) -> list[Mailbox]:
    addresses = {
        str(item["emailAddress"]["address"]).lower()
        for item in event.attendees
        if item.get("type") != "resource"
    }
    addresses.discard(event.organizer.address.lower())
    if not addresses:
        return []
    # Every organizer's save asks: compiled once per number of addresses.
    return query_objects(_user_mailboxes, sorted(addresses))


@reads(Mailbox)
def _user_mailboxes(addresses: list[str]) -> QuerySet[Mailbox]:
    return Mailbox.objects.filter(address__in=addresses, kind=MailboxKind.USER).order_by("pk")


def _copies(event: Event) -> dict[int, Event]:
    """The attendees' live copies of the meeting, by the attendee's mailbox."""
    rows = (
        Event.objects.filter(ical_uid=event.ical_uid, deleted=False)
        .exclude(pk=event.pk)
        .select_related("calendar")
    )
    return {row.calendar.owner_id: row for row in rows}


def _copy_create(*, event: Event, mailbox: Mailbox, stamp) -> None:
    calendar = Calendar.objects.filter(owner=mailbox, is_default=True).first()
    if calendar is None:
        return
    now = sandbox_now()
    copy = Event(
        graph_id=graph_id(),
        calendar=calendar,
        organizer=event.organizer,
        ical_uid=event.ical_uid,
        show_as="tentative",
        is_reminder_on=True,
        reminder_minutes=ATTENDEE_REMINDER_MINUTES,
        created_at=now,
        **{name: getattr(event, name) for name in SHARED_FIELDS},
    )
    stamp(copy, now)
    copy.save()
    change_record(event=copy, change_type="created")


def _copy_update(*, event: Event, copy: Event, stamp) -> None:
    changed = False
    timing = timing_of(copy)
    for name in SHARED_FIELDS:
        if getattr(copy, name) != getattr(event, name):
            setattr(copy, name, getattr(event, name))
            changed = True
    if copy.is_cancelled:
        copy.is_cancelled, changed = False, True
    retimed = (copy.recurrence or timing["recurrence"]) and timing_of(copy) != timing
    if retimed:
        # As for the organizer's series: the copy's old occurrences are reported removed
        # by delta queries, and its exceptions go.
        copy.timing_history = [*copy.timing_history, timing][-HISTORY_KEPT:]
        exceptions_drop(copy, stamp=stamp)
    if changed:
        stamp(copy, sandbox_now())
        if retimed:
            timing["seq"] = copy.seq
        copy.save()
        change_record(event=copy, change_type="updated")


def _copy_cancel(*, copy: Event, stamp) -> None:
    if copy.is_cancelled:
        return
    copy.is_cancelled = True
    if not copy.subject.startswith(CANCELED):
        copy.subject = (CANCELED + copy.subject)[:255]
    stamp(copy, sandbox_now())
    copy.save()
    change_record(event=copy, change_type="updated")
