"""The sandbox's browser pages, mounted at ``/graph-sandbox/`` by the product's urlconf."""

from __future__ import annotations

from django.urls import path

from graph_sandbox.identity.authorize import authorize
from graph_sandbox.pages import notifications, views

app_name = "graph_sandbox"

urlpatterns = [
    path("", views.mailbox_list, name="home"),
    path("mailboxes/<str:address>/", views.mailbox_detail, name="mailbox"),
    path("mailboxes/<str:address>/events/", views.event_add, name="event-add"),
    path(
        "mailboxes/<str:address>/events/<str:event_id>/delete/",
        views.event_remove_view,
        name="event-remove",
    ),
    path("mailboxes/<str:address>/revoke/", views.grants_revoke, name="revoke"),
    path(
        "mailboxes/<str:address>/subscriptions/<str:subscription_id>/<str:action>/",
        notifications.subscription_action,
        name="subscription-action",
    ),
    path("meet/<str:token>/", views.meeting, name="meeting"),
    path("<str:tenant>/oauth2/v2.0/authorize", authorize, name="authorize"),
]
