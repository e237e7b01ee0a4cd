"""The sandbox's own state: a directory (tenants, apps, mailboxes), calendars and
events, the identity platform's grants and tokens, and the knobs tests turn
(clock, faults) with the log of what was asked.

Everything here lives in the ``graph_sandbox`` database alias (see ``router``).
Times that Microsoft would judge (token lifetimes, event creation) come from the
sandbox clock (``graph_sandbox.clock``), which tests can move.
"""

from __future__ import annotations

import uuid

from django.db import models

from ops.compiled_inserts import CompiledInsert


class Tenant(models.Model):
    """A Microsoft Entra directory."""

    tenant_id = models.UUIDField(unique=True, default=uuid.uuid4)
    name = models.CharField(max_length=200)
    domain = models.CharField(max_length=200, unique=True)  # e.g. contoso.example

    def __str__(self) -> str:
        return self.domain


class AppRegistration(models.Model):
    """An app registration: who may ask for tokens, with which secret, returning where."""

    client_id = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="apps")
    # SHA-256 of the client secret; the secret itself is never stored.
    secret_hash = models.CharField(max_length=64)
    redirect_uris = models.JSONField(default=list)

    def __str__(self) -> str:
        return self.name


class MailboxKind(models.TextChoices):
    USER = "user", "User"
    ROOM = "room", "Room"


def work_account_providers() -> list[str]:
    return ["teamsForBusiness"]


class Mailbox(models.Model):
    """A user (or room) with an Exchange mailbox. Rooms cannot sign in."""

    object_id = models.UUIDField(unique=True, default=uuid.uuid4)  # Entra's "oid"
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="mailboxes")
    address = models.EmailField(unique=True)  # lower case; also the userPrincipalName
    display_name = models.CharField(max_length=200)
    given_name = models.CharField(max_length=100, blank=True)
    surname = models.CharField(max_length=100, blank=True)
    job_title = models.CharField(max_length=100, blank=True)
    kind = models.CharField(max_length=8, choices=MailboxKind.choices, default=MailboxKind.USER)
    password = models.CharField(max_length=128, blank=True)  # Django password hash
    time_zone = models.CharField(max_length=64, default="UTC")  # IANA name
    # Refresh tokens issued before this (sandbox) time are refused: "revoke sessions".
    tokens_valid_from = models.DateTimeField(null=True, blank=True)
    # The online meeting providers of the user's calendars (``allowedOnlineMeetingProviders``),
    # the first being the default: Teams for a work account; none of Teams for business
    # for a personal Microsoft account's. Rooms have none.
    online_meeting_providers = models.JSONField(default=work_account_providers)
    # The address Graph names as the ``owner`` of the user's own calendars when it is not
    # the sign-in address: a personal Microsoft account signed in with another provider's
    # address owns its calendars as its ``outlook_…@outlook.com`` alias. Blank: ``address``.
    calendar_owner_address = models.EmailField(blank=True)

    class Meta:
        ordering = ["kind", "display_name"]

    def __str__(self) -> str:
        return self.address


class Calendar(models.Model):
    """A calendar folder in its owner's mailbox; it holds the events."""

    owner = models.ForeignKey(Mailbox, on_delete=models.CASCADE, related_name="owned_calendars")
    name = models.CharField(max_length=200)
    color = models.CharField(max_length=32, default="auto")
    hex_color = models.CharField(max_length=7, blank=True)
    is_default = models.BooleanField(default=False)

    def __str__(self) -> str:
        return f"{self.owner.address}: {self.name}"


class CalendarAccess(models.Model):
    """A calendar as it appears in one mailbox's calendar list (``GET /me/calendars``).

    The owner's own calendars, a calendar another user shared, and a room calendar
    the user added are all rows here; each has its own Graph id, as in Outlook.
    """

    graph_id = models.CharField(max_length=200, unique=True)
    mailbox = models.ForeignKey(Mailbox, on_delete=models.CASCADE, related_name="calendar_list")
    calendar = models.ForeignKey(Calendar, on_delete=models.CASCADE, related_name="accesses")
    name = models.CharField(max_length=200)
    can_edit = models.BooleanField(default=True)
    can_share = models.BooleanField(default=True)
    can_view_private = models.BooleanField(default=True)
    is_removable = models.BooleanField(default=True)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["mailbox", "calendar"], name="gs_one_access_per_list")
        ]
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return f"{self.mailbox.address} sees {self.calendar}"

    @property
    def is_default(self) -> bool:
        return self.calendar.is_default and self.calendar.owner_id == self.mailbox_id


class Event(CompiledInsert):
    """One event: a single instance, a recurring series' master (``recurrence`` set), or
    one occurrence of a series that differs from it (``series_master`` set: an exception;
    deleted: an occurrence removed from the series). The other occurrences are not
    stored: ``graph_sandbox.graph.series`` expands them. Deleted events stay as
    tombstones for delta queries.

    A new event's INSERT is compiled once per process (``CompiledInsert``): every create
    writes one."""

    graph_id = models.CharField(max_length=200, unique=True)
    calendar = models.ForeignKey(Calendar, on_delete=models.CASCADE, related_name="events")
    organizer = models.ForeignKey(
        Mailbox, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    subject = models.CharField(max_length=255, blank=True)
    body_content_type = models.CharField(max_length=8, default="text")
    body_content = models.TextField(blank=True)
    start = models.DateTimeField()  # UTC
    end = models.DateTimeField()  # UTC
    start_time_zone = models.CharField(max_length=64, default="UTC")  # as the client named it
    end_time_zone = models.CharField(max_length=64, default="UTC")
    is_all_day = models.BooleanField(default=False)
    show_as = models.CharField(max_length=20, default="busy")
    is_cancelled = models.BooleanField(default=False)
    sensitivity = models.CharField(max_length=20, default="normal")
    importance = models.CharField(max_length=10, default="normal")
    location = models.JSONField(default=dict)  # Graph's location object
    attendees = models.JSONField(default=list)  # Graph's attendee objects
    categories = models.JSONField(default=list)
    is_reminder_on = models.BooleanField(default=True)
    reminder_minutes = models.IntegerField(default=15)
    transaction_id = models.CharField(max_length=255, blank=True)
    # "<owner oid>:<transactionId>": a transactionId is used once per mailbox.
    transaction_key = models.CharField(max_length=300, null=True, blank=True, unique=True)
    # SHA-256 of the create request body, to tell a retried create from a different one.
    request_fingerprint = models.CharField(max_length=64, blank=True)
    is_online_meeting = models.BooleanField(default=False)
    online_meeting_provider = models.CharField(max_length=40, default="unknown")
    join_url = models.URLField(max_length=500, blank=True)
    ical_uid = models.CharField(max_length=200)
    change_key = models.CharField(max_length=40)
    created_at = models.DateTimeField()  # sandbox clock
    modified_at = models.DateTimeField()  # sandbox clock
    # Position in the sandbox-wide change sequence; delta queries read changes after one.
    seq = models.BigIntegerField(default=0)
    deleted = models.BooleanField(default=False)
    # A series master: Graph's patternedRecurrence as it echoes it (graph_sandbox.recurrence).
    recurrence = models.JSONField(null=True, blank=True)
    # A series master: when its last occurrence ends (UTC); None for a series without end.
    series_end = models.DateTimeField(null=True, blank=True)
    # A series master: its earlier times and patterns (newest last), so that a delta query
    # can report the occurrences they had as removed.
    timing_history = models.JSONField(default=list, blank=True)
    # An exception or removed occurrence: its series and the start the series gave it.
    series_master = models.ForeignKey(
        "self", on_delete=models.CASCADE, null=True, blank=True, related_name="exceptions"
    )
    original_start = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["calendar", "deleted", "start"], name="gs_event_window"),
            models.Index(fields=["calendar", "seq"], name="gs_event_changes"),
        ]
        ordering = ["start", "id"]

    def __str__(self) -> str:
        return f"{self.subject} ({self.start:%Y-%m-%d %H:%M})"


class Consent(models.Model):
    """The delegated permissions a user granted an app."""

    mailbox = models.ForeignKey(Mailbox, on_delete=models.CASCADE, related_name="consents")
    app = models.ForeignKey(AppRegistration, on_delete=models.CASCADE, related_name="consents")
    scopes = models.JSONField(default=list)
    granted_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["mailbox", "app"], name="gs_one_consent_per_app")
        ]

    def __str__(self) -> str:
        return f"{self.mailbox_id} consented to {self.app_id}"


class AuthorizationCode(models.Model):
    """A code handed to the redirect URI; redeemable once, for ten minutes."""

    code_hash = models.CharField(max_length=64, unique=True)
    app = models.ForeignKey(AppRegistration, on_delete=models.CASCADE, related_name="+")
    mailbox = models.ForeignKey(Mailbox, on_delete=models.CASCADE, related_name="+")
    redirect_uri = models.TextField()
    scopes = models.JSONField(default=list)
    code_challenge = models.CharField(max_length=128, blank=True)
    code_challenge_method = models.CharField(max_length=8, blank=True)
    nonce = models.TextField(blank=True)
    issued_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    redeemed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"code for {self.mailbox_id} issued {self.issued_at:%Y-%m-%d %H:%M}"


class RefreshToken(models.Model):
    """A refresh token: valid for 90 days from its own issue, unless revoked."""

    token_hash = models.CharField(max_length=64, unique=True)
    app = models.ForeignKey(AppRegistration, on_delete=models.CASCADE, related_name="+")
    mailbox = models.ForeignKey(Mailbox, on_delete=models.CASCADE, related_name="refresh_tokens")
    scopes = models.JSONField(default=list)
    issued_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"refresh token for {self.mailbox_id} issued {self.issued_at:%Y-%m-%d %H:%M}"


class AccessToken(models.Model):
    """A bearer token for Graph: one hour, unless the grant is revoked."""

    token_hash = models.CharField(max_length=64, unique=True)
    app = models.ForeignKey(AppRegistration, on_delete=models.CASCADE, related_name="+")
    mailbox = models.ForeignKey(Mailbox, on_delete=models.CASCADE, related_name="access_tokens")
    scopes = models.JSONField(default=list)
    issued_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"access token for {self.mailbox_id} issued {self.issued_at:%Y-%m-%d %H:%M}"


class SandboxState(models.Model):
    """The one row of sandbox-wide settings that tests and people change."""

    clock_offset_seconds = models.FloatField(default=0.0)
    change_seq = models.BigIntegerField(default=0)
    # Bumped to make every outstanding delta link answer "resync required".
    sync_generation = models.PositiveIntegerField(default=1)
    # How a forgotten delta link is answered: 410 Gone (a reset) or 400 syncStateNotFound
    # (an expired Outlook delta token: "a 40X-series error", Microsoft's delta query page).
    sync_expired_status = models.PositiveSmallIntegerField(default=410)
    # Outlook allows 4 concurrent requests per app and mailbox; 0 switches the limit off.
    mailbox_concurrency = models.PositiveIntegerField(default=4)
    # Where the browser pages are served; blank means settings.GRAPH_SANDBOX_PAGES_URL.
    pages_url = models.CharField(max_length=300, blank=True)
    # Longest subscription lifetime allowed, in minutes; None means
    # settings.GRAPH_SANDBOX_SUBSCRIPTION_MAX_MINUTES (Microsoft's pages say 4,230 or 10,080).
    subscription_max_minutes = models.PositiveIntegerField(null=True, blank=True)
    # While on, the delivery thread sends nothing; notifications wait (tests batch with it).
    delivery_paused = models.BooleanField(default=False)

    def __str__(self) -> str:
        return "Graph sandbox state"


class FaultTarget(models.TextChoices):
    GRAPH = "graph", "Graph calls"
    IDENTITY = "identity", "Identity platform calls"
    ALL = "all", "Every call"


class ChanceRule(models.Model):
    """A rule that strikes ``fraction`` of what it matches (repeatably with ``seed``),
    ``remaining`` times at most, doing one of ``kinds``; see ``faults.fires``."""

    kinds = models.JSONField(default=list)
    fraction = models.FloatField(default=1.0)
    seed = models.IntegerField(null=True, blank=True)
    remaining = models.PositiveIntegerField(null=True, blank=True)  # None: no limit
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        abstract = True


class FaultRule(ChanceRule):
    """Make some calls fail or slow down (``kinds`` among ``faults.FAULT_KINDS``)."""

    mailbox_address = models.CharField(max_length=254, blank=True)  # blank: every mailbox
    applies_to = models.CharField(
        max_length=8, choices=FaultTarget.choices, default=FaultTarget.GRAPH
    )
    retry_after_seconds = models.PositiveIntegerField(default=1)
    slow_seconds = models.FloatField(default=3.0)
    latency_ms = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{'/'.join(self.kinds) or 'latency'} for {self.mailbox_address or 'everyone'}"


class RequestLogEntry(CompiledInsert):
    """One call to the TLS endpoints: for tests, benchmarks and people. Its INSERT is
    compiled once per process (``CompiledInsert``): every call writes one."""

    at = models.DateTimeField()  # real time
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=500)
    query = models.CharField(max_length=1000, blank=True)
    status = models.PositiveSmallIntegerField(null=True, blank=True)  # None: dropped
    latency_ms = models.FloatField()
    mailbox = models.CharField(max_length=254, blank=True)
    client_id = models.CharField(max_length=64, blank=True)
    fault = models.CharField(max_length=20, blank=True)
    request_id = models.CharField(max_length=40)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.method} {self.path} {self.status}"


class Subscription(models.Model):
    """A change-notification subscription on a mailbox's events (``POST /subscriptions``).

    It belongs to the app and the signed-in user that created it. ``calendar`` is
    None for ``me/events`` (every calendar the mailbox owns). Property values the
    app sent (``resource``, ``changeType``) are kept as written, since Graph echoes them.
    """

    graph_id = models.CharField(max_length=36, unique=True)
    app = models.ForeignKey(AppRegistration, on_delete=models.CASCADE, related_name="+")
    mailbox = models.ForeignKey(Mailbox, on_delete=models.CASCADE, related_name="subscriptions")
    calendar = models.ForeignKey(
        Calendar, on_delete=models.CASCADE, null=True, blank=True, related_name="subscriptions"
    )
    resource = models.CharField(max_length=500)
    change_type = models.CharField(max_length=100)
    notification_url = models.CharField(max_length=2000)
    lifecycle_notification_url = models.CharField(max_length=2000, blank=True)
    # None (not sent) is echoed as null, which differs from "".
    client_state = models.CharField(max_length=128, null=True, blank=True)  # noqa: DJ001
    latest_supported_tls_version = models.CharField(max_length=8, default="v1_2")
    include_resource_data = models.BooleanField(null=True, blank=True)
    # Optional properties Graph echoes as sent (notificationQueryOptions, encryptionCertificate…).
    echoed = models.JSONField(default=dict)
    created_at = models.DateTimeField()  # sandbox clock
    expires_at = models.DateTimeField()  # sandbox clock
    # Set by a reauthorizationRequired challenge: past it, changes are no longer
    # delivered (they are lost) until the app reauthorizes or renews.
    reauthorize_by = models.DateTimeField(null=True, blank=True)
    # When the last reauthorizationRequired about the coming expiry went out.
    expiry_reminded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["mailbox", "expires_at"], name="gs_subscription_mailbox")]
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.resource} for {self.mailbox_id} until {self.expires_at:%Y-%m-%d %H:%M}"

    @property
    def change_types(self) -> frozenset[str]:
        return frozenset(t.strip() for t in self.change_type.split(","))


class NotificationKind(models.TextChoices):
    CHANGE = "change", "Change notification"
    LIFECYCLE = "lifecycle", "Lifecycle notification"


class NotificationState(models.TextChoices):
    PENDING = "pending", "Waiting to be sent"
    HELD = "held", "Held back (reorder control)"
    SENDING = "sending", "Being sent"


class Notification(models.Model):
    """One notification on its way to an app's URL: the delivery thread's outbox.

    The row carries everything it sends (``item`` goes into ``value``), so it
    outlives its subscription (a ``subscriptionRemoved`` notification is sent after
    the subscription is gone). Rows are deleted once delivered or dropped; the
    delivery log keeps what happened.
    """

    subscription_id = models.CharField(max_length=36)  # the subscription's Graph id
    mailbox = models.CharField(max_length=254)  # the subscription's mailbox (address)
    kind = models.CharField(max_length=10, choices=NotificationKind.choices)
    url = models.CharField(max_length=2000)
    item = models.JSONField()
    state = models.CharField(
        max_length=8, choices=NotificationState.choices, default=NotificationState.PENDING
    )
    enqueued_at = models.DateTimeField()  # sandbox clock: the 4-hour retry window starts here
    enqueued_real = models.DateTimeField()  # real time, for latency figures
    next_attempt_at = models.DateTimeField()  # sandbox clock
    hold_until = models.DateTimeField(null=True, blank=True)  # sandbox clock (reorder)
    attempts = models.PositiveIntegerField(default=0)
    claimed_until = models.DateTimeField(null=True, blank=True)  # real time

    class Meta:
        indexes = [models.Index(fields=["state", "next_attempt_at"], name="gs_notification_due")]
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.kind} for {self.subscription_id} ({self.state})"


class DeliveryTarget(models.TextChoices):
    CHANGE = "change", "Change notifications"
    LIFECYCLE = "lifecycle", "Lifecycle notifications"
    ALL = "all", "Every notification"


class DeliveryRule(ChanceRule):
    """Make some notifications go wrong the ways Graph's do (``kinds`` among drop, delay,
    duplicate, reorder); see ``control.deliveries_set``."""

    applies_to = models.CharField(
        max_length=10, choices=DeliveryTarget.choices, default=DeliveryTarget.CHANGE
    )
    subscription_id = models.CharField(max_length=36, blank=True)  # blank: every subscription
    delay_seconds = models.FloatField(default=5.0)

    def __str__(self) -> str:
        return f"{'/'.join(self.kinds)} for {self.subscription_id or 'every subscription'}"


class DeliveryLogEntry(models.Model):
    """One thing the sandbox sent to (or decided about) an app's URL: for tests and people."""

    at = models.DateTimeField()  # real time
    sandbox_at = models.DateTimeField()  # sandbox clock
    kind = models.CharField(max_length=10)  # validation, change or lifecycle
    url = models.CharField(max_length=2000)
    subscription_ids = models.JSONField(default=list)
    mailboxes = models.JSONField(default=list)  # addresses of those subscriptions' mailboxes
    body = models.TextField(blank=True)  # the JSON POSTed, or the validation token
    status = models.PositiveSmallIntegerField(null=True, blank=True)  # None: no answer
    outcome = models.CharField(max_length=12)  # see subscriptions.deliverylog.OUTCOMES
    detail = models.CharField(max_length=300, blank=True)
    latency_ms = models.FloatField(null=True, blank=True)  # the POST itself
    age_ms = models.FloatField(null=True, blank=True)  # from the change to the POST (oldest item)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.kind} to {self.url}: {self.outcome}"
