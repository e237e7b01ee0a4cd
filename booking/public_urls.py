"""Public routes: the booking page, its JSON API, and the invitee's booking links."""

from django.urls import path

from booking import api, public_views

app_name = "booking"

urlpatterns = [
    path("book/<str:slug>/", public_views.book_page, name="page"),
    path("api/booking-pages/<str:slug>/slots", api.slots, name="api-slots"),
    path("api/booking-pages/<str:slug>/bookings", api.bookings, name="api-bookings"),
    path("time-zones.json", public_views.time_zones, name="time-zones"),
    path("bookings/<str:token>/", public_views.manage, name="manage"),
    path("bookings/<str:token>/invite.ics", public_views.ics, name="ics"),
    path("bookings/<str:token>/join.json", public_views.join_link, name="join"),
    path("bookings/<str:token>/cancel/", public_views.cancel, name="cancel"),
    path("bookings/<str:token>/reschedule/", public_views.reschedule, name="reschedule"),
]
