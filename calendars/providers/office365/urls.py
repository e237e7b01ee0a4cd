"""Office 365's own addresses.

``urlpatterns`` are Setup's, under ``/setup/integration/calendar/office365/`` (in the
``calendars`` namespace). The callback path is the redirect URI registered with
Microsoft, and outside tests use both names: keep them stable. The sign-in itself
runs through the provider interface (``calendars.views.connect``/``callback``).

Addresses Microsoft calls (Graph change and lifecycle notifications) go in a
``webhook_urlpatterns`` list here, with their views in this package's ``views.py``:
``calendars.webhook_urls`` mounts it under ``/webhooks/office365/``.
"""

from django.urls import path

from calendars import views
from calendars.providers.office365 import views as webhook_views

KEY = "office365"

urlpatterns = [
    path("connect/", views.connect, {"provider_key": KEY}, name=f"{KEY}_connect"),
    path("callback/", views.callback, {"provider_key": KEY}, name=f"{KEY}_callback"),
]

webhook_urlpatterns = [
    path("notifications", webhook_views.notifications, name=f"{KEY}_webhook_notifications"),
    path("lifecycle", webhook_views.lifecycle, name=f"{KEY}_webhook_lifecycle"),
]
