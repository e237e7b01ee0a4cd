"""A member's calendar health on Setup → Team, in plain words for the admin.

What state the member's Office 365 connection is in, why (the reason the connection
recorded, ``DisconnectReason``), since when, and who must act: only the member can
reconnect or retry (``calendars.views.push_retry`` takes the member's own rows only),
so the words say so instead of offering the admin a button. Times are the admin's
(``time_zone``), with the zone named.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from calendars.error_text import error_shown
from calendars.models import CalendarConnection, DisconnectReason, PushedEvent, PushState


@dataclass(frozen=True)
class HealthWords:
    """``state``: "connected", "expiring", "disconnected" or "none"; ``badge`` the state's
    word; ``lines``: sentences under it (why, since when, who must act)."""

    state: str
    badge: str
    lines: list[str]


@dataclass(frozen=True)
class FailedWords:
    """The member's failed pushes: how many, the latest's reason, and what to do."""

    count: int
    summary: str
    latest: str
    action: str


def _when(moment: datetime, time_zone: str) -> str:
    local = timezone.localtime(moment, ZoneInfo(time_zone))
    with timezone.override(time_zone):
        return date_format(local, _("j F Y, H:i T"))


def _who_acts(name: str) -> str:
    return _(
        "Only %(name)s can reconnect it, in their own Setup → Calendar integration; an "
        "admin cannot do it for them."
    ) % {"name": name}


def _reason(connection: CalendarConnection, name: str) -> str:
    if connection.disconnect_reason == DisconnectReason.EXPIRED:
        return _(
            "Why: the sign-in expired (Microsoft asks for a new sign-in after 90 days without "
            "one that renews it)."
        )
    if connection.disconnect_reason == DisconnectReason.REVOKED:
        return _(
            "Why: Microsoft refused the sign-in (access was revoked, or the password was "
            "changed, in Microsoft 365)."
        )
    if connection.disconnect_reason == DisconnectReason.HOST:
        return _("Why: %(name)s disconnected it.") % {"name": name}
    return _("Why: it stopped working.")


def connection_health(
    *,
    connection: CalendarConnection | None,
    name: str,
    time_zone: str,
    now: datetime | None = None,
) -> HealthWords:
    """The member ``name``'s connection in words for an admin in ``time_zone``."""
    now = now or timezone.now()
    if connection is None:
        return HealthWords(
            "none",
            _("Not connected"),
            [
                _(
                    "Only %(name)s can connect it, in their own Setup → Calendar "
                    "integration; an admin cannot do it for them."
                )
                % {"name": name}
            ],
        )
    if not connection.is_connected:
        lines = [_reason(connection, name)]
        if connection.disconnected_at is not None:
            lines.append(
                _("Since %(when)s.") % {"when": _when(connection.disconnected_at, time_zone)}
            )
        lines.append(_who_acts(name))
        return HealthWords("disconnected", _("Disconnected"), lines)
    expires = connection.refresh_expires_at
    horizon = timedelta(days=max(settings.CALENDAR_EXPIRY_WARNING_DAYS, default=0))
    if expires is not None and expires - now <= horizon:
        return HealthWords(
            "expiring",
            _("Expires soon"),
            [
                _("The sign-in expires on %(when)s.") % {"when": _when(expires, time_zone)},
                _(
                    "Only %(name)s can renew it: Reconnect in their own Setup → Calendar "
                    "integration before then; an admin cannot do it for them."
                )
                % {"name": name},
            ],
        )
    return HealthWords("connected", _("Connected"), [])


def failed_pushes_health(*, connection: CalendarConnection | None, name: str) -> FailedWords | None:
    """The failed pushes into the member's shown account (as on their own Calendar
    integration), or None for none."""
    if connection is None:
        return None
    rows = PushedEvent.objects.filter(calendar__connection=connection, state=PushState.FAILED)
    count = rows.count()
    if not count:
        return None
    latest = rows.order_by("-updated_at", "-pk").first()
    reason = error_shown(latest.last_error) or _("It could not be sent")
    summary = ngettext(
        "%(count)s booking did not reach %(name)s's calendar.",
        "%(count)s bookings did not reach %(name)s's calendar.",
        count,
    ) % {"count": count, "name": name}
    action = _(
        "%(name)s can send them again with Retry in their own Setup → Calendar integration "
        "(after reconnecting, if it is disconnected); an admin cannot retry for them."
    ) % {"name": name}
    return FailedWords(
        count=count,
        summary=summary,
        latest=_("Latest: %(reason)s.") % {"reason": reason[0].upper() + reason[1:]},
        action=action,
    )
