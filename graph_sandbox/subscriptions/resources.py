"""Which events a subscription's ``resource`` covers.

Graph takes ``me/events`` (every event in the signed-in user's mailbox),
``me/calendars/{id}/events`` (one calendar), with or without a leading ``/``,
and the same with ``users/{id}`` (object id or user principal name) instead of
``me``. ``me/calendar/events`` means the default calendar. With delegated
permissions only the signed-in user's own mailbox can be subscribed to.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from graph_sandbox.graph.errors import GraphError, access_denied, not_found
from graph_sandbox.models import Calendar, CalendarAccess, Mailbox

_WHO = r"(?:me|users/(?P<user>[^/?]+))"
_PATTERNS = (
    re.compile(rf"(?i)^/?{_WHO}/events/?$"),
    re.compile(rf"(?i)^/?{_WHO}/calendar/events/?$"),
    re.compile(rf"(?i)^/?{_WHO}/calendars/(?P<calendar>[^/?]+)/events/?$"),
)


@dataclass(frozen=True)
class Watched:
    """The mailbox whose events are watched, and one calendar of it (None: all of them)."""

    mailbox: Mailbox
    calendar: Calendar | None


def watched_resource(*, resource: str, caller_mailbox: Mailbox) -> Watched:
    """Resolve ``resource`` for the signed-in user; Graph's 4xx when it cannot be watched."""
    for number, pattern in enumerate(_PATTERNS):
        match = pattern.match(resource)
        if match is None:
            continue
        _require_own_mailbox(match.group("user"), caller_mailbox)
        if number == 0:
            return Watched(caller_mailbox, None)
        if number == 1:
            return Watched(caller_mailbox, _default_calendar(caller_mailbox))
        return Watched(caller_mailbox, _own_calendar(caller_mailbox, match.group("calendar")))
    raise GraphError(
        400,
        "InvalidRequest",
        f"The Graph sandbox supports subscriptions to events only ('me/events', "
        f"'me/calendars/{{id}}/events' or the same under 'users/{{id}}'), not '{resource}'.",
    )


def _require_own_mailbox(user: str | None, caller_mailbox: Mailbox) -> None:
    """Delegated permissions reach only the signed-in user's mailbox."""
    if user is None:
        return
    user = user.strip("'\"")
    if user.lower() not in (str(caller_mailbox.object_id), caller_mailbox.address.lower()):
        raise access_denied()


def _default_calendar(mailbox: Mailbox) -> Calendar:
    calendar = Calendar.objects.filter(owner=mailbox, is_default=True).first()
    if calendar is None:
        raise not_found()
    return calendar


def _own_calendar(mailbox: Mailbox, calendar_id: str) -> Calendar:
    """A calendar of the user's list by its Graph id; shared ones are refused.

    Outlook change notifications with delegated permissions cover folders of the
    signed-in user's mailbox only, not calendars other people share with them.
    """
    access = (
        CalendarAccess.objects.select_related("calendar")
        .filter(mailbox=mailbox, graph_id=calendar_id.strip("'\""))
        .first()
    )
    if access is None:
        raise not_found()
    if access.calendar.owner_id != mailbox.pk:
        raise access_denied()
    return access.calendar
