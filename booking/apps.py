from django.apps import AppConfig


class BookingConfig(AppConfig):
    name = "booking"
    verbose_name = "Booking pages"

    def ready(self) -> None:
        from booking import handlers
        from calendars import signals

        signals.calendars_changed.connect(
            handlers.on_calendars_changed, dispatch_uid="booking.calendars_changed"
        )
        signals.connection_established.connect(
            handlers.on_connection_established, dispatch_uid="booking.connection_established"
        )
