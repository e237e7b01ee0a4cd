"""Integrations' answers to booking and calendar events (connected in ``IntegrationsConfig``).

Booking, team and calendar connection events all arrive inside the transaction of
their change, so their delivery rows commit (or roll back) with it: no crash between
the change's commit and the row's leaves an event unsent.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.utils import timezone

from booking.events import Actor, BookingEvent, BookingEventKind
from booking.models import Booking, BookingCohost
from booking.selectors import booking_cohosts
from calendars.models import CalendarConnection
from integrations.models import EventType, WebhookEndpoint
from integrations.scope import endpoint_owners_for, organization_endpoints_of
from integrations.serializers import booking_data
from integrations.webhooks import deliveries_add
from ops.compiled_queries import query_rows, reads

BOOKING_EVENT_TYPES = {
    BookingEventKind.CONFIRMED: EventType.BOOKING_CREATED,
    BookingEventKind.RESCHEDULED: EventType.BOOKING_RESCHEDULED,
    BookingEventKind.CANCELLED: EventType.BOOKING_CANCELLED,
}


@dataclass(frozen=True)
class EndpointsAhead:
    """Whether some endpoint wanted an event about ``host_ids`` when it was prepared."""

    host_ids: frozenset[int]
    wanted: bool


def on_booking_prepare(
    sender, *, kind: BookingEventKind, host_ids: tuple[int, ...], **kwargs
) -> EndpointsAhead:
    """``booking_event_preparing`` receiver: look for endpoints before the booking's
    transaction (and the host's lock).

    When none wants the event, ``on_booking_event`` writes no delivery without asking
    again in the transaction (the common case: most hosts have no endpoint). An endpoint
    made or switched on meanwhile then misses this one event, as it would had it been
    saved a moment later: nothing orders endpoint edits and bookings (they take no
    common lock), and a new endpoint receives the events that come after it.
    """
    event_type = BOOKING_EVENT_TYPES[kind]
    rows = query_rows(_endpoint_events, list(host_ids))
    wanted = any(event_type in events for (events,) in rows)
    return EndpointsAhead(host_ids=frozenset(host_ids), wanted=wanted)


@reads(WebhookEndpoint)
def _endpoint_events(host_ids: list[int]):
    """What the active endpoints about ``host_ids`` subscribe to (``endpoints_wanting``)."""
    owners = endpoint_owners_for(host_ids=host_ids)
    return WebhookEndpoint.objects.filter(owners, is_active=True).values_list("events")


def on_booking_event(sender, *, event: BookingEvent, **kwargs) -> None:
    """``booking_event_recorded`` receiver: a delivery per subscribed endpoint.

    The endpoints are read here, in the booking's transaction, unless the event was
    prepared (``on_booking_prepare``) and no endpoint wanted it then.
    """
    people = _people_of(event)
    if event.kind == BookingEventKind.RESCHEDULED and event.previous_host_id is not None:
        # A handover: the member who had the meeting hears it left them (``host`` is the
        # new member, ``previous_host`` them), as the last event about it they receive.
        people.append(event.previous_host_id)
    ahead = event.prepared_by(on_booking_prepare)
    if ahead is not None and not ahead.wanted and ahead.host_ids.issuperset(people):
        return

    def data() -> dict:
        booking = event.booking or Booking.objects.select_related("page", "host").get(
            pk=event.booking_id
        )
        data = {**booking_data(booking), "changed_by": str(event.actor)}
        if event.kind == BookingEventKind.RESCHEDULED:
            data["previous_host"] = _previous_host(event)
        return data

    deliveries_add(
        owners=endpoint_owners_for(host_ids=people),
        event_type=BOOKING_EVENT_TYPES[event.kind],
        data=data,
        occurred_at=event.occurred_at,
        order_key=f"booking:{event.booking_uuid}",
    )


def on_meeting_link_recorded(
    sender,
    *,
    booking_id: int,
    booking_uuid,
    version: int,
    host_id: int,
    occurred_at,
    **kwargs,
) -> None:
    """``meeting_link_recorded`` receiver: a ``booking.meeting_link_ready`` delivery per
    subscribed endpoint, in the transaction of the join-link email's row (so once per
    link, like that email: again with the new ``join_url`` when the meeting was made
    again), ordered with the booking's other events."""
    # Both reads compiled once per process (every Teams booking passes here, most hosts
    # with no endpoint): the ORM's filters and subqueries built per call cost more.
    people = [host_id, *(user_id for (user_id,) in query_rows(_cohost_ids, booking_id))]
    event_type = EventType.BOOKING_MEETING_LINK_READY
    if not any(event_type in events for (events,) in query_rows(_endpoint_events, people)):
        return

    def data() -> dict:
        booking = Booking.objects.select_related("page", "host").get(pk=booking_id)
        return {**booking_data(booking), "changed_by": Actor.SYSTEM.value}

    deliveries_add(
        owners=endpoint_owners_for(host_ids=people),
        event_type=event_type,
        data=data,
        occurred_at=occurred_at,
        order_key=f"booking:{booking_uuid}",
    )


def _previous_host(event: BookingEvent) -> dict | None:
    """Who hosted a moved booking before the move gave it to another member (a round-robin
    handover), as ``host`` shows a member; None when the host stayed."""
    if event.previous_host_id is None:
        return None
    user = get_user_model().objects.filter(pk=event.previous_host_id).first()
    if user is None:
        return None
    return {"name": user.get_full_name(), "email": user.email}


@reads(BookingCohost)
def _cohost_ids(booking_id: int):
    return BookingCohost.objects.filter(booking_id=booking_id).values_list("user_id")


def _people_of(event: BookingEvent) -> list[int]:
    """The booking's host and, on a collective page, the members who attend it too."""
    if event.booking is not None:
        return [event.host_id, *(row.user_id for row in booking_cohosts(booking=event.booking))]
    cohosts = BookingCohost.objects.filter(booking_id=event.booking_id)
    return [event.host_id, *cohosts.values_list("user_id", flat=True)]


def on_member_joined(sender, *, membership, **kwargs) -> None:
    """``member_joined`` receiver (in the accepting transaction)."""
    _team_event(EventType.TEAM_MEMBER_JOINED, membership)


def on_member_removed(sender, *, membership, **kwargs) -> None:
    """``member_removed`` receiver (in the removing transaction)."""
    _team_event(EventType.TEAM_MEMBER_REMOVED, membership)


def on_organization_leaving(sender, *, user, old, new, **kwargs) -> None:
    """``organization_leaving`` receiver: the endpoints ``user`` made for ``old`` (of which
    they were the only member) become their own, which is what they received there: their
    own events. They never become ``new``'s: its admins choose who gets everyone's."""
    WebhookEndpoint.objects.filter(organization=old, owner=user).update(
        organization=None, updated_at=timezone.now()
    )


def _team_event(event_type: str, membership) -> None:
    def data() -> dict:
        organization = membership.organization
        user = membership.user
        return {
            "organization": {"id": organization.pk, "name": organization.name},
            "member": {"name": user.get_full_name(), "email": user.email, "role": membership.role},
        }

    deliveries_add(
        owners=organization_endpoints_of(organization_id=membership.organization_id),
        event_type=event_type,
        data=data,
        occurred_at=timezone.now(),
        order_key=f"organization:{membership.organization_id}",
    )


def on_connection_disconnected(
    sender, *, connection_id: int, host_id: int, provider: str, reason: str = "", **kwargs
) -> None:
    _connection_event(
        EventType.CALENDAR_DISCONNECTED,
        connection_id=connection_id,
        host_id=host_id,
        provider=provider,
        reason=reason,
    )


def on_connection_reconnected(
    sender, *, connection_id: int, host_id: int, provider: str, **kwargs
) -> None:
    _connection_event(
        EventType.CALENDAR_RECONNECTED,
        connection_id=connection_id,
        host_id=host_id,
        provider=provider,
        reason="",
    )


def _connection_event(
    event_type: str, *, connection_id: int, host_id: int, provider: str, reason: str
) -> None:
    def data() -> dict:
        connection = CalendarConnection.objects.filter(pk=connection_id).first()
        return {
            "connection_id": connection_id,
            "provider": provider,
            "account_email": connection.account_email if connection else "",
            "reason": reason or None,
        }

    deliveries_add(
        owners=endpoint_owners_for(host_ids=[host_id]),
        event_type=event_type,
        data=data,
        occurred_at=timezone.now(),
        order_key=f"connection:{connection_id}",
    )
