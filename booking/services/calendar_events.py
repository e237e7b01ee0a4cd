"""How a booking appears in the host's calendars: the neutral event and its outbox rows.

Writes outbox rows only (``calendars.services.mirroring``), in the caller's
transaction; the push workers do the rest. With no calendar connected nothing is
written and the booking still stands.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from booking.emails import host_locale
from booking.locales import language_of
from booking.models import Booking, LocationKind
from booking.selectors import (
    booking_cohosts,
    future_bookings_of_host,
    member_mailbox_address,
    member_target_calendars,
    target_calendars_for,
)
from booking.tokens import booking_paths
from calendars.events import Attendee, EventDescription
from calendars.models import Calendar
from calendars.services.mirroring import event_mirror, event_mirror_new


def booking_mirror(*, booking: Booking) -> None:
    """Ask for the booking's event in its page's main and "add bookings" calendars.

    Writes outbox rows only (in the caller's transaction); with no calendar
    connected it writes nothing and the booking still stands.
    """
    page = booking.page
    if page is not None and page.team_kind:
        # The member's own calendar (the organizer's, for a collective page: Exchange
        # delivers the meeting to the other members, who are its attendees).
        calendars = member_target_calendars(user_id=booking.host_id)
    else:
        calendars = target_calendars_for(page=page) if page is not None else []
    if not calendars:
        return
    event_mirror(
        host=booking.host,
        source=booking.mirror_source,
        event=booking_event(booking=booking),
        calendars=calendars,
    )


@dataclass(frozen=True)
class NewBookingMirror:
    """A booking's calendar events, worked out before the booking is saved (and before
    the host's lock is taken): ``write`` them in the transaction that saves it."""

    booking: Booking
    event: EventDescription | None
    calendars: tuple[Calendar, ...]

    def write(self) -> None:
        """The outbox rows, in one INSERT (the booking is saved, its rows are new)."""
        if self.calendars and self.event is not None:
            event_mirror_new(
                host=self.booking.host,
                source=self.booking.mirror_source,
                event=self.event,
                calendars=self.calendars,
            )


def booking_mirror_prepare(*, booking: Booking) -> NewBookingMirror:
    """``booking_mirror`` for a booking about to be made on a personal page: its page's
    calendars (as loaded with the page) and the event, before anything is written."""
    page = booking.page
    calendars = tuple(target_calendars_for(page=page)) if page is not None else ()
    event = booking_event(booking=booking) if calendars else None
    return NewBookingMirror(booking=booking, event=event, calendars=calendars)


@dataclass(frozen=True)
class MovedBookingMirror:
    """A booking's calendar events after a move, worked out before the host's lock:
    ``write`` them in the transaction that moves it (``booking_mirror`` without reads)."""

    booking: Booking
    event: EventDescription | None
    calendars: tuple[Calendar, ...]

    def write(self) -> None:
        if self.calendars and self.event is not None:
            event_mirror(
                host=self.booking.host,
                source=self.booking.mirror_source,
                event=self.event,
                calendars=self.calendars,
            )


def booking_mirror_move_prepare(*, booking: Booking) -> MovedBookingMirror:
    """``booking_mirror`` for ``booking`` of a personal page as it will be once moved (an
    unsaved copy, with its page as loaded with its calendars), before anything is written."""
    page = booking.page
    calendars = tuple(target_calendars_for(page=page)) if page is not None else ()
    event = booking_event(booking=booking) if calendars else None
    return MovedBookingMirror(booking=booking, event=event, calendars=calendars)


def booking_event(*, booking: Booking) -> EventDescription:
    """The neutral calendar event for a booking, shown in the page's time zone and worded
    in the language of the host whose calendar holds it (their Profile language)."""
    with translation.override(language_of(host_locale(booking.host))):
        return _booking_event(booking)


def _booking_event(booking: Booking) -> EventDescription:
    page = booking.page
    zone_name = page.time_zone if page is not None else booking.host.time_zone
    zone = ZoneInfo(zone_name)
    teams = page is not None and page.location_kind == LocationKind.TEAMS
    teams = teams and not booking.no_join_link
    # Never an empty location: a Teams meeting says so (as Outlook writes it), and one the
    # calendar cannot make says what the booking says (the page's text, or a link follows).
    location = str(_("Microsoft Teams meeting")) if teams else booking.location_text
    return EventDescription(
        subject=_("%(title)s with %(name)s")
        % {"title": booking.title, "name": booking.invitee_name},
        start=booking.start.astimezone(zone),
        end=booking.end.astimezone(zone),
        time_zone=zone_name,
        body_text=booking_details_text(booking=booking),
        attendees=(
            Attendee(booking.invitee_email, booking.invitee_name),
            *booking_cohost_attendees(booking=booking),
        ),
        location=location,
        online_meeting=teams,
    )


def booking_cohost_attendees(*, booking: Booking) -> list[Attendee]:
    """The other members of a collective booking, at the addresses of their calendars."""
    return [
        Attendee(member_mailbox_address(user=row.user), row.user.get_full_name())
        for row in booking_cohosts(booking=booking)
    ]


def booking_details_text(*, booking: Booking) -> str:
    """Plain text for calendar bodies and .ics descriptions, in the active language: who
    booked, their answers and the invitee's links."""
    by = {"name": booking.invitee_name, "email": booking.invitee_email}
    lines = [_("Booked by %(name)s <%(email)s>") % by]
    lines += [f"{item['question']}: {item['answer']}" for item in booking.answers if item["answer"]]
    paths, site = booking_paths(booking), settings.SITE_URL
    lines += [
        "",
        _("Cancel: %(link)s") % {"link": site + paths["cancel"]},
        _("Reschedule: %(link)s") % {"link": site + paths["reschedule"]},
    ]
    return "\n".join(lines)


def bookings_remirror(*, host, now: datetime | None = None) -> int:
    """Ask again for every future confirmed booking of ``host`` in its page's calendars.

    Used after the host connects or reconnects an account: the events go to the
    (possibly new) main booking calendar, including bookings made while no account
    was connected; unchanged rows are left as they are, and rows of an old,
    disconnected account are left alone.
    """
    now = now or timezone.now()
    count = 0
    for booking in future_bookings_of_host(host=host, now=now):
        with transaction.atomic():
            booking_mirror(booking=booking)
        count += 1
    return count
