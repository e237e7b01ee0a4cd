from django.apps import AppConfig


class BookingConfig(AppConfig):
    name = "booking"
    verbose_name = "Booking pages"

    def ready(self) -> None:
        from booking import (
            availability_cache,
            bookable_pages,
            email_outbox,
            handlers,
            history,
            reminders,
            tasks,  # noqa: F401  (registers the Celery tasks in this process)
        )
        from booking.events import booking_event_recorded
        from booking.services import horizons
        from calendars import signals
        from outbox.sweeper import sweeper_register

        # Booking emails: an outbox row per booking event, written in its transaction.
        booking_event_recorded.connect(
            email_outbox.on_booking_event, dispatch_uid="booking.emails.on_booking_event"
        )
        sweeper_register("booking emails", email_outbox.booking_emails_sweep)
        # Setup → Meetings' history of each booking, and invitee reminders (planned,
        # re-planned or stopped), both written in the booking's transaction.
        booking_event_recorded.connect(
            history.on_booking_event, dispatch_uid="booking.history.on_booking_event"
        )
        booking_event_recorded.connect(
            reminders.on_booking_event, dispatch_uid="booking.reminders.on_booking_event"
        )

        signals.calendars_changed.connect(
            handlers.on_calendars_changed, dispatch_uid="booking.calendars_changed"
        )
        signals.connection_established.connect(
            handlers.on_connection_established, dispatch_uid="booking.connection_established"
        )
        signals.join_link_dropped.connect(
            handlers.on_join_link_dropped, dispatch_uid="booking.join_link_dropped"
        )
        signals.join_link_ready.connect(
            handlers.on_join_link_ready, dispatch_uid="booking.join_link_ready"
        )
        from accounts.services import member_removed, organization_leaving

        member_removed.connect(handlers.on_member_removed, dispatch_uid="booking.member_removed")
        organization_leaving.connect(
            handlers.on_organization_leaving, dispatch_uid="booking.organization_leaving"
        )
        # After the handlers above: busy horizons follow pages and calendars by themselves.
        horizons.connect_receivers()
        # Cached slot answers are forgotten by every write that can change them.
        availability_cache.connect_receivers()
        # A page's rows written outside a page edit move its updated_at (booking stamps).
        bookable_pages.connect_receivers()
