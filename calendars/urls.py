"""Setup → Integration → Calendar integration, and each provider's own addresses.

Each provider in ``calendars.providers.PROVIDERS`` brings its own ``urls.py``
(connect and callback, named ``<key>_connect`` and ``<key>_callback``), mounted at
``calendar/<key>/``.
"""

from django.urls import include, path

from calendars import views
from calendars.providers import PROVIDERS, provider_package

app_name = "calendars"

urlpatterns = [
    path("calendar/", views.integration, name="integration"),
    *(path(f"calendar/{key}/", include(f"{provider_package(key)}.urls")) for key in PROVIDERS),
    path("calendar/<int:pk>/reminder/", views.reminder, name="reminder"),
    path("calendar/<int:pk>/refresh/", views.refresh_calendars, name="refresh"),
    path("calendar/<int:pk>/disconnect/", views.disconnect, name="disconnect"),
    path("calendar/pushes/<int:pk>/retry/", views.push_retry, name="push_retry"),
]
