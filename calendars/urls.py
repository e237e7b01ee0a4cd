from django.urls import path

from calendars import views

app_name = "calendars"

urlpatterns = [
    path("calendar/", views.integration, name="integration"),
    # One pair per provider in calendars.providers.PROVIDERS. The callback path is the
    # redirect URI registered with Microsoft: keep it stable.
    path(
        "calendar/office365/connect/",
        views.connect,
        {"provider_key": "office365"},
        name="office365_connect",
    ),
    path(
        "calendar/office365/callback/",
        views.callback,
        {"provider_key": "office365"},
        name="office365_callback",
    ),
    path("calendar/<int:pk>/reminder/", views.reminder, name="reminder"),
    path("calendar/<int:pk>/refresh/", views.refresh_calendars, name="refresh"),
    path("calendar/<int:pk>/disconnect/", views.disconnect, name="disconnect"),
    path("calendar/pushes/<int:pk>/retry/", views.push_retry, name="push_retry"),
]
