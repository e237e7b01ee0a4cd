from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "integrations"
    verbose_name = "Integrations"

    def ready(self) -> None:
        from accounts.services import member_joined, member_removed, organization_leaving
        from booking.events import (
            booking_event_preparing,
            booking_event_recorded,
            meeting_link_recorded,
        )
        from calendars import signals
        from integrations import (
            checks,  # noqa: F401  (registers the system checks)
            receivers,
            tasks,  # noqa: F401  (registers the Celery task in this process)
            webhooks,
        )
        from outbox.sweeper import sweeper_register

        # Webhook deliveries: rows written in the booking's own transaction (whether any
        # endpoint wants the event is looked up ahead, before the host's lock).
        booking_event_preparing.connect(
            receivers.on_booking_prepare, dispatch_uid="integrations.on_booking_prepare"
        )
        booking_event_recorded.connect(
            receivers.on_booking_event, dispatch_uid="integrations.on_booking_event"
        )
        # booking.meeting_link_ready: in the transaction of the join-link email's row.
        meeting_link_recorded.connect(
            receivers.on_meeting_link_recorded, dispatch_uid="integrations.meeting_link"
        )
        signals.connection_disconnected.connect(
            receivers.on_connection_disconnected, dispatch_uid="integrations.disconnected"
        )
        signals.connection_reconnected.connect(
            receivers.on_connection_reconnected, dispatch_uid="integrations.reconnected"
        )
        # Team events, for organization-wide endpoints: in the membership's transaction.
        member_joined.connect(receivers.on_member_joined, dispatch_uid="integrations.joined")
        member_removed.connect(receivers.on_member_removed, dispatch_uid="integrations.removed")
        organization_leaving.connect(
            receivers.on_organization_leaving, dispatch_uid="integrations.organization_leaving"
        )
        sweeper_register("webhook deliveries", webhooks.deliveries_sweep)
