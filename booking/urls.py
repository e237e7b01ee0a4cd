"""Setup → Booking pages (namespace ``pages``)."""

from django.urls import path

from booking import views

app_name = "pages"

urlpatterns = [
    path("", views.page_list, name="list"),
    path("new/", views.page_create_view, name="create"),
    path("working-hours/", views.working_hours_view, name="working_hours"),
    path("<int:pk>/", views.page_edit_view, name="edit"),
    path("<int:pk>/calendars/", views.page_calendars_view, name="calendars"),
    path("<int:pk>/duplicate/", views.page_duplicate_view, name="duplicate"),
    path("<int:pk>/toggle/", views.page_toggle_view, name="toggle"),
    path("<int:pk>/delete/", views.page_delete_view, name="delete"),
]
