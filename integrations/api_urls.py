"""The read API, mounted at ``api/v1/``."""

from django.urls import path

from integrations import api

app_name = "api"

urlpatterns = [
    path("bookings", api.bookings, name="bookings"),
    path("bookings/<str:booking_id>", api.booking_detail, name="booking"),
    path("booking-pages", api.booking_pages, name="booking-pages"),
    path("openapi.json", api.openapi, name="openapi"),
]
