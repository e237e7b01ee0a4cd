"""Calendar integration data: connections, calendars, busy time, pushed events.

Shared by every provider (Office 365 first). ``booking`` reads calendars and
busy intervals and asks for events to be mirrored; this app never imports
``booking``.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from calendars.constants import DEFAULT_REMINDER_MINUTES
from outbox.models import OutboxItem


class ConnectionStatus(models.TextChoices):
    CONNECTED = "connected", "Connected"
    DISCONNECTED = "disconnected", "Disconnected"


class DisconnectReason(models.TextChoices):
    HOST = "host", "Disconnected by the host"
    EXPIRED = "expired", "The sign-in expired"
    REVOKED = "revoked", "Microsoft refused the sign-in"


# Why a connection is disconnected, to follow "disconnected: " in a sentence (the
# labels above start with a capital, and "Microsoft" must keep its own).
DISCONNECT_REASON_WORDS = {
    DisconnectReason.HOST: _("you disconnected it"),
    DisconnectReason.EXPIRED: _("the sign-in expired"),
    DisconnectReason.REVOKED: _("Microsoft refused the sign-in"),
}


class CalendarConnectionQuerySet(models.QuerySet):
    def live(self) -> CalendarConnectionQuerySet:
        """Connections in use now (connected). A host has at most one: its live connection."""
        return self.filter(status=ConnectionStatus.CONNECTED)


class CalendarConnection(models.Model):
    """One host's sign-in to one calendar account (e.g. an Office 365 mailbox).

    A host has at most one *connected* connection. Disconnected rows stay, with
    their calendars and the record of pushed events; reconnecting the same account
    revives the same row (keeping calendar choices and pending work).
    """

    host = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="calendar_connections"
    )
    provider = models.CharField(max_length=32)  # a key of calendars.providers.PROVIDERS
    status = models.CharField(
        max_length=16, choices=ConnectionStatus.choices, default=ConnectionStatus.CONNECTED
    )
    # The provider's stable id for the signed-in account (MSAL's home_account_id).
    account_id = models.CharField(max_length=255)
    account_email = models.EmailField(max_length=254)
    account_name = models.CharField(max_length=255, blank=True)
    # Every address the sign-in knew the account by (lowercase; for Office 365 /me's mail
    # and userPrincipalName and the ID token's preferred_username). A calendar-list refresh
    # has no ID token: it judges which calendars are the account's own with these too.
    account_addresses = models.JSONField(default=list, blank=True, editable=False)
    # Fernet ciphertext of the provider's token cache; empty once disconnected.
    # Never rendered, logged or shown in the admin.
    token_cache = models.TextField(blank=True, default="", editable=False)
    refresh_issued_at = models.DateTimeField(null=True, blank=True)
    refresh_expires_at = models.DateTimeField(null=True, blank=True)
    # When the host last completed Microsoft's sign-in for this account.
    signed_in_at = models.DateTimeField(null=True, blank=True)
    # The smallest "days before expiry" warning already sent for refresh_expires_at.
    expiry_warned_days = models.PositiveSmallIntegerField(null=True, blank=True)
    # Calendars seen at the last import that we do not offer (shared, rooms, read-only).
    calendars_skipped = models.PositiveIntegerField(default=0)
    # Those calendars, for Setup to name: [{"name": ..., "owner": address}, ...].
    calendars_skipped_names = models.JSONField(default=list, blank=True, editable=False)
    calendars_refreshed_at = models.DateTimeField(null=True, blank=True)
    # The last temporary failure to refresh the sign-in (cleared on success); no secrets.
    last_token_error = models.CharField(max_length=300, blank=True, default="")
    # None means "no reminder" (isReminderOn: false).
    default_reminder_minutes = models.PositiveIntegerField(
        null=True, blank=True, default=DEFAULT_REMINDER_MINUTES
    )
    connected_at = models.DateTimeField(auto_now_add=True)
    disconnected_at = models.DateTimeField(null=True, blank=True)
    disconnect_reason = models.CharField(
        max_length=16, choices=DisconnectReason.choices, blank=True, default=""
    )
    # Busy-time sync: a worker holds the connection until this time (a lease, so two
    # workers never sync one connection at once; a crashed worker's lease just expires).
    sync_claimed_until = models.DateTimeField(null=True, blank=True, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    objects = CalendarConnectionQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["host"],
                condition=Q(status="connected"),
                name="one_connected_calendar_account_per_host",
            ),
            models.UniqueConstraint(
                fields=["host", "provider", "account_id"], name="one_row_per_host_account"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.provider}:{self.account_email} ({self.status})"

    @property
    def is_connected(self) -> bool:
        return self.status == ConnectionStatus.CONNECTED

    @property
    def disconnect_reason_words(self) -> str:
        """Why it was disconnected, in words for the host ("the sign-in expired")."""
        return str(DISCONNECT_REASON_WORDS.get(self.disconnect_reason, _("it stopped working")))

    @property
    def mailbox_key(self) -> str:
        """The mailbox, for its limit of concurrent calls (several hosts may share one)."""
        return f"{self.provider}:{self.account_id}"[:300]


class Calendar(models.Model):
    """A calendar of a connection that the host owns and may write to."""

    connection = models.ForeignKey(
        CalendarConnection, on_delete=models.CASCADE, related_name="calendars"
    )
    remote_id = models.CharField(max_length=512)
    name = models.CharField(max_length=255)
    color = models.CharField(max_length=16, blank=True)  # "#rrggbb" when known
    is_default = models.BooleanField(default=False)
    can_edit = models.BooleanField(default=True)
    # The calendar can make the online meetings (Teams) a page may ask for; a personal
    # Microsoft account's calendar cannot. Read with the calendar list.
    online_meetings = models.BooleanField(default=True)
    # False when the calendar vanished at the last "Refresh calendar list".
    is_active = models.BooleanField(default=True)
    # How many days ahead some active booking page needs this calendar's busy time
    # (0: no page reads it, so it is not synced). Kept up to date by ``booking``, which
    # owns the pages (calendars never imports booking).
    busy_horizon_days = models.PositiveIntegerField(default=0)
    # How the busy-time sync went, for the host (Setup) and operators; where it stands
    # with the provider (window, delta link) is the calendar's ``sync_state``.
    last_synced_at = models.DateTimeField(null=True, blank=True)
    # The last failure in plain words (cleared by a successful sync), and when the
    # sync will be tried again.
    last_sync_error = models.CharField(max_length=500, blank=True, default="")
    sync_retry_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "remote_id"], name="calendar_unique_per_connection"
            )
        ]
        ordering = ["-is_default", "name"]

    def __str__(self) -> str:
        return self.name


class CalendarSyncState(models.Model):
    """Where one calendar's busy-time sync stands with its provider (one row per calendar).

    The delta link covers [synced_from, synced_until); it is secret-free but long, and
    never logged. Made by the first sync. Change notifications are subscribed per
    account, not per calendar (``ChangeSubscription``): Microsoft documents event
    subscriptions for a whole mailbox only.
    """

    calendar = models.OneToOneField(
        Calendar, on_delete=models.CASCADE, related_name="sync_state", primary_key=True
    )
    delta_link = models.TextField(blank=True, default="", editable=False)
    synced_from = models.DateTimeField(null=True, blank=True)
    synced_until = models.DateTimeField(null=True, blank=True)
    # When the last full read (rather than a delta) happened.
    full_synced_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"sync state of calendar {self.calendar_id}"


class ChangeSubscription(models.Model):
    """The provider's change notifications for one account (Graph's ``/subscriptions``).

    One per connection, watching every event of the account: a notification means
    "something in this account changed", and the busy calendars are then read through
    their delta links (``calendars.services.subscriptions``). Polling stays as the
    safety net, slower while this is live.

    ``remote_id`` is empty while there is none (not made yet, removed, or not
    possible); ``client_state_digest`` is the SHA-256 of the secret the provider sends
    back with every notification (the secret itself is never stored).
    """

    connection = models.OneToOneField(
        CalendarConnection,
        on_delete=models.CASCADE,
        related_name="change_subscription",
        primary_key=True,
    )
    remote_id = models.CharField(max_length=255, blank=True, default="", db_index=True)
    client_state_digest = models.CharField(max_length=64, blank=True, default="", editable=False)
    expires_at = models.DateTimeField(null=True, blank=True)
    # Renew (or reauthorize) from this time on; well before ``expires_at``.
    renew_at = models.DateTimeField(null=True, blank=True)
    # Why there is no live subscription, in plain words ("" when live or not tried yet),
    # and when making one is tried again.
    last_error = models.CharField(max_length=500, blank=True, default="")
    retry_at = models.DateTimeField(null=True, blank=True)
    # The last notification accepted for it, and until when a sync it asked for is queued
    # (later notifications until then are folded into that sync: the debounce).
    notified_at = models.DateTimeField(null=True, blank=True)
    sync_queued_until = models.DateTimeField(null=True, blank=True, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"change subscription of connection {self.connection_id}"


class BusyInterval(models.Model):
    """Time blocked in a calendar, as last read from the provider. Times are UTC."""

    calendar = models.ForeignKey(Calendar, on_delete=models.CASCADE, related_name="busy_intervals")
    remote_event_id = models.CharField(max_length=512)
    start = models.DateTimeField()
    end = models.DateTimeField()
    # A calendars.events.Availability value (the provider translated its own word).
    show_as = models.CharField(max_length=32, default="busy")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["calendar", "remote_event_id"], name="busy_interval_unique_event"
            )
        ]
        indexes = [models.Index(fields=["calendar", "start", "end"])]

    def __str__(self) -> str:
        return f"{self.start:%Y-%m-%d %H:%M}-{self.end:%H:%M} {self.show_as}"


class PushState(models.TextChoices):
    PENDING = "pending", _("Waiting to be sent")
    SYNCED = "synced", _("In the calendar")
    WAITING = "waiting", _("Waiting for the calendar to be reconnected")
    FAILED = "failed", _("Failed")


class PushedEvent(OutboxItem):
    """The outbox and the record of one event mirrored into one calendar.

    Rows hold the *desired* state (``payload``, ``wanted``, ``version``); a worker
    makes the calendar match it and records ``synced_version`` and ``remote_id``.
    Because the row describes an outcome rather than an operation, processing it
    twice is harmless, and the create carries ``transaction_id`` so a retried
    create never makes a second event. Claims, leases, attempts and the sweeper
    are the shared outbox's (``outbox``).
    """

    host = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="pushed_events"
    )
    calendar = models.ForeignKey(Calendar, on_delete=models.CASCADE, related_name="pushed_events")
    # What the event mirrors, opaque to this app, e.g. "booking:<uuid>".
    source = models.CharField(max_length=100)
    transaction_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    payload = models.JSONField()  # calendars.events.EventDescription.to_json()
    wanted = models.BooleanField(default=True)  # False: the event should not exist
    version = models.PositiveIntegerField(default=1)
    synced_version = models.PositiveIntegerField(default=0)
    remote_id = models.CharField(max_length=512, blank=True, default="")
    # The online meeting's join link, once the provider made one (a Teams meeting).
    online_meeting_url = models.URLField(max_length=2000, blank=True, default="")
    state = models.CharField(max_length=16, choices=PushState.choices, default=PushState.PENDING)
    # The exact create request (event and reminder) sent with ``transaction_id``,
    # written before the first create is sent and reused by every retry of it, so a
    # retried create is byte-for-byte the same request and the provider answers with
    # the event it already made. None: no event can have been made with this id (no
    # create was sent, or Graph refused its first sending).
    create_request = models.JSONField(null=True, blank=True, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["source", "calendar"], name="one_mirror_per_calendar")
        ]
        indexes = [models.Index(fields=["state", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"{self.source} → {self.calendar_id} ({self.state})"

    @property
    def is_settled(self) -> bool:
        return self.state == PushState.SYNCED and self.synced_version == self.version


class MailboxSlot(models.Model):
    """One of a mailbox's concurrent-call slots (Outlook allows 4 per app and mailbox).

    A worker takes a free slot with a conditional UPDATE before it talks to the
    mailbox and frees it afterwards; a slot whose holder died frees itself when
    ``leased_until`` passes. Works the same on PostgreSQL and SQLite.
    """

    mailbox = models.CharField(max_length=300)  # CalendarConnection.mailbox_key
    slot = models.PositiveSmallIntegerField()
    holder = models.CharField(max_length=64, blank=True, default="")
    leased_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["mailbox", "slot"], name="one_row_per_mailbox_slot")
        ]

    def __str__(self) -> str:
        return f"{self.mailbox}#{self.slot}"


class SignInHandoff(models.Model):
    """A sign-in started under another of our host names than ``SITE_URL``'s.

    Microsoft answers only at the redirect URI registered for ``SITE_URL``, where
    the browser has no session if it started elsewhere (``localhost`` vs.
    ``127.0.0.1``, or a second production host name). The answer is parked here
    (encrypted) and the browser is sent back to ``origin``, whose session holds
    the sign-in; it is taken once. Rows live ``SIGN_IN_TTL_SECONDS`` at most.
    """

    state = models.CharField(max_length=255, unique=True)
    origin = models.CharField(max_length=255)  # scheme://host[:port] the sign-in started on
    # Fernet ciphertext of the provider's answer (code, state, ...); empty until it came.
    answer = models.TextField(blank=True, default="", editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"sign-in started on {self.origin}"
