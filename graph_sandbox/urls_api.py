"""The TLS listener's endpoints: the identity platform at ``/<tenant>/…``, Graph at ``/v1.0/…``.

Graph matches path segments case-insensitively (``calendarView`` or
``calendarview``), and so do these patterns.
"""

from __future__ import annotations

from django.urls import re_path

from graph_sandbox.graph import calendar_view, schedule, views
from graph_sandbox.identity import discovery, token_view
from graph_sandbox.identity.redirects import authorize_redirect
from graph_sandbox.subscriptions import views as subscriptions

CAL = r"calendars/(?P<calendar_id>[^/]+)"
EVENT = r"(?P<event_id>[^/]+)"
TENANT = r"(?P<tenant>[^/]+)"


def graph(pattern: str, view, name: str):
    return re_path(rf"(?i)^v1\.0/me/{pattern}/?$", view, name=name)


urlpatterns = [
    re_path(
        rf"^{TENANT}/v2\.0/\.well-known/openid-configuration$",
        discovery.openid_configuration,
        name="openid-configuration",
    ),
    re_path(rf"^{TENANT}/discovery/v2\.0/keys$", discovery.signing_keys, name="keys"),
    re_path(rf"^{TENANT}/discovery/instance$", discovery.instance_discovery, name="instance"),
    re_path(rf"^{TENANT}/oauth2/v2\.0/token$", token_view.token, name="token"),
    re_path(rf"^{TENANT}/oauth2/v2\.0/authorize$", authorize_redirect, name="authorize"),
    re_path(r"(?i)^v1\.0/me/?$", views.me, name="me"),
    graph("calendars", views.calendars, "calendars"),
    graph(CAL, views.calendar, "calendar"),
    graph("calendar", views.calendar, "default-calendar"),
    graph("calendar/getschedule", schedule.get_schedule, "get-schedule"),
    graph(f"{CAL}/calendarview", calendar_view.calendar_view, "calendar-view"),
    graph(f"{CAL}/calendarview/delta", calendar_view.calendar_view_delta, "calendar-view-delta"),
    graph("calendar/calendarview", calendar_view.calendar_view, "default-calendar-view"),
    graph("calendarview", calendar_view.calendar_view, "me-calendar-view"),
    graph("calendar/calendarview/delta", calendar_view.calendar_view_delta, "default-delta"),
    graph("calendarview/delta", calendar_view.calendar_view_delta, "me-calendar-view-delta"),
    graph(f"{CAL}/events", views.events, "calendar-events"),
    graph("calendar/events", views.events, "default-calendar-events"),
    graph("events", views.events, "events"),
    graph(f"{CAL}/events/{EVENT}", views.event, "calendar-event"),
    graph(f"events/{EVENT}", views.event, "event"),
    graph(f"{CAL}/events/{EVENT}/instances", views.instances, "calendar-event-instances"),
    graph(f"calendar/events/{EVENT}/instances", views.instances, "default-event-instances"),
    graph(f"events/{EVENT}/instances", views.instances, "event-instances"),
    re_path(r"(?i)^v1\.0/subscriptions/?$", subscriptions.subscriptions, name="subscriptions"),
    re_path(
        r"(?i)^v1\.0/subscriptions/(?P<subscription_id>[^/]+)/?$",
        subscriptions.subscription,
        name="subscription",
    ),
    re_path(
        r"(?i)^v1\.0/subscriptions/(?P<subscription_id>[^/]+)/reauthorize/?$",
        subscriptions.reauthorize,
        name="subscription-reauthorize",
    ),
    re_path(r"(?i)^v1\.0/(?P<rest>.*)$", views.unknown_segment, name="unknown"),
]
