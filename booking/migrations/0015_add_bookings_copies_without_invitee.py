"""Bookings made before a booking became one meeting (commit 35ea0cb) still invite the
invitee from every calendar that holds them: their "add bookings" copies carry the
attendees and ask for an online meeting of their own, until the booking next moves.

Here each such copy of a confirmed booking still to come gets the desired state its
next move would give it (``calendars.services.mirroring._payloads``: the main booking
calendar's event is the meeting, every other is ``record_copy``: no attendees, no
online meeting), as a new version of the row. The push worker carries that out as any
other change (an update that drops the attendees: Outlook withdraws the extra
invitation); beat's outbox sweeper queues the rows, and rows of a disconnected account
wait for it. A data migration rather than a command: it must happen once on every
installation, with nobody to remember to run it, and it only writes outbox rows.

A booking is left alone (its next move corrects it, as before) when its page's main
booking calendar holds none of its events or is not connected: which event is the
meeting is then not what its next move would choose.
"""

from django.db import migrations
from django.utils import timezone


def _is_meeting(payload: dict) -> bool:
    return bool(payload.get("attendees")) or bool(payload.get("online_meeting"))


def copies_without_invitee(apps, schema_editor):
    Booking = apps.get_model("booking", "Booking")
    PushedEvent = apps.get_model("calendars", "PushedEvent")
    now = timezone.now()
    rows = (
        PushedEvent.objects.filter(wanted=True, source__startswith="booking:")
        .select_related("calendar__connection")
        .order_by("source", "pk")
    )
    by_source: dict[str, list] = {}
    for row in rows.iterator():
        by_source.setdefault(row.source, []).append(row)
    candidates = {
        source: found
        for source, found in by_source.items()
        if len(found) > 1 and sum(_is_meeting(row.payload) for row in found) > 1
    }
    if not candidates:
        return
    uuids = [source.partition(":")[2] for source in candidates]
    bookings = Booking.objects.filter(
        uuid__in=uuids, status="confirmed", end__gt=now, page__isnull=False
    ).select_related("page__main_calendar__connection")
    for booking in bookings:
        main = booking.page.main_calendar
        if main is None or main.connection.status != "connected":
            continue
        found = candidates[f"booking:{booking.uuid}"]
        if not any(row.calendar_id == main.pk for row in found):
            continue
        for row in found:
            if row.calendar_id == main.pk or not _is_meeting(row.payload):
                continue
            row.payload = {**row.payload, "attendees": [], "online_meeting": False}
            row.version += 1
            row.attempts = 0
            row.next_attempt_at = None
            row.last_error = ""
            connected = row.calendar.connection.status == "connected"
            row.state = "pending" if connected else "waiting"
            row.queued_at = None  # the sweeper's to queue
            row.save(
                update_fields=[
                    "payload",
                    "version",
                    "attempts",
                    "next_attempt_at",
                    "last_error",
                    "state",
                    "queued_at",
                    "updated_at",
                ]
            )


class Migration(migrations.Migration):
    dependencies = [
        ("booking", "0014_handover_previous_host"),
        ("calendars", "0009_calendar_online_meetings"),
    ]

    operations = [migrations.RunPython(copies_without_invitee, migrations.RunPython.noop)]
