"""Whose data an integration sees: the one place that decides it.

Today a user sees their own bookings and pages, and their webhook endpoints
receive the events of their own bookings and calendars. When organizations land
(issue 12), an admin's scope widens to the organization's members here, and
nowhere else: the read API, the webhook fan-out and Setup all ask these functions.
"""

from __future__ import annotations

from django.db.models import Q


def hosts_visible_to(*, user) -> Q:
    """A filter on ``host`` for the bookings and pages ``user`` may read through the API."""
    return Q(host_id=user.pk)


def endpoint_owners_for(*, host_id: int) -> Q:
    """A filter on ``owner`` for the endpoints that receive events about ``host_id``."""
    return Q(owner_id=host_id)
