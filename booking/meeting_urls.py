"""Setup → Meetings (namespace ``meetings``)."""

from django.urls import path

from booking import meeting_views

app_name = "meetings"

urlpatterns = [
    path("", meeting_views.meeting_list, name="list"),
    path("start/", meeting_views.landing, name="landing"),
    path("export.csv", meeting_views.meeting_export, name="export"),
    path("<int:pk>/", meeting_views.meeting_detail, name="detail"),
    path("<int:pk>/cancel/", meeting_views.meeting_cancel_view, name="cancel"),
    path("<int:pk>/ask-to-reschedule/", meeting_views.meeting_ask_reschedule_view, name="ask"),
    path("<int:pk>/no-show/", meeting_views.meeting_no_show_view, name="no_show"),
    path("<int:pk>/retry/", meeting_views.meeting_push_retry_view, name="retry"),
]
