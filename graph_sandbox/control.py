"""Controls for tests (and later issues): plain functions on the sandbox's store.

Import this from tests only; the product never imports ``graph_sandbox``. Every
function works on the ``graph_sandbox`` database alias, so a test needs that
database (the ``graph_sandbox_server`` fixture takes care of it).

Times are aware datetimes; events are returned as ``SandboxEvent`` values with
everything the product sends (attendees, reminder, transactionId, location,
online meeting).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from graph_sandbox import clock, faults, store
from graph_sandbox import seed as seeding
from graph_sandbox.graph.events import calendar_remove, event_insert, event_remove, event_retime
from graph_sandbox.graph.series import event_type, occurrence_find
from graph_sandbox.graph.series import instances as series_instances
from graph_sandbox.identity import tokens
from graph_sandbox.models import (
    AccessToken,
    AppRegistration,
    AuthorizationCode,
    Calendar,
    CalendarAccess,
    Consent,
    DeliveryLogEntry,
    DeliveryRule,
    DeliveryTarget,
    Event,
    FaultRule,
    FaultTarget,
    Mailbox,
    Notification,
    RefreshToken,
    RequestLogEntry,
    SandboxState,
    Subscription,
    Tenant,
)
from graph_sandbox.requestlog import request_log_read
from graph_sandbox.subscriptions import deliverylog, outbox
from graph_sandbox.subscriptions import services as subscription_services

# Deleted in this order by reset() (children first).
_ALL_MODELS = (
    Notification,
    DeliveryRule,
    DeliveryLogEntry,
    Subscription,
    RequestLogEntry,
    FaultRule,
    AccessToken,
    RefreshToken,
    AuthorizationCode,
    Consent,
    Event,
    CalendarAccess,
    Calendar,
    Mailbox,
    AppRegistration,
    Tenant,
    SandboxState,
)


@dataclass(frozen=True)
class SandboxEvent:
    id: str
    calendar: str  # the calendar's name in its owner's mailbox
    subject: str
    start: datetime  # UTC
    end: datetime  # UTC
    time_zone: str  # the zone the client named
    show_as: str
    is_reminder_on: bool
    reminder_minutes: int
    attendees: list[dict]  # [{"name", "address", "type"}]
    location: str
    body: str
    transaction_id: str
    is_online_meeting: bool
    join_url: str
    organizer: str
    is_cancelled: bool
    deleted: bool
    created_at: datetime  # sandbox clock
    modified_at: datetime  # sandbox clock


@dataclass(frozen=True)
class LoggedCall:
    id: int
    method: str
    path: str
    query: str
    status: int | None  # None: the connection was dropped
    latency_ms: float
    mailbox: str
    client_id: str
    fault: str  # "", a fault kind, or "concurrency"


@dataclass(frozen=True)
class SandboxSubscription:
    id: str
    address: str  # the mailbox whose events it watches (its creator)
    client_id: str  # the app that created it
    resource: str  # as the app wrote it
    calendar: str | None  # the watched calendar's name; None: every calendar of the mailbox
    change_type: str
    notification_url: str
    lifecycle_notification_url: str
    client_state: str | None
    expires_at: datetime  # sandbox clock
    reauthorize_by: datetime | None  # after a reauthorizationRequired challenge


@dataclass(frozen=True)
class LoggedDelivery:
    id: int
    at: datetime  # real time
    sandbox_at: datetime  # sandbox clock
    kind: str  # "validation", "change", "lifecycle" (or "mixed")
    url: str
    subscription_ids: list[str]
    mailboxes: list[str]  # addresses of those subscriptions' mailboxes
    body: str  # the JSON POSTed, or the validation token
    status: int | None  # None: no answer, or nothing was sent
    outcome: str  # validated, refused, delivered, failed, dropped
    detail: str
    latency_ms: float | None
    age_ms: float | None  # from the change to this POST

    @property
    def value(self) -> list[dict]:
        """The notifications in the body (``[]`` for a validation request)."""
        if self.kind == "validation" or not self.body:
            return []
        return json.loads(self.body)["value"]


# --- everything ----------------------------------------------------------------------


def reset() -> None:
    """Forget everything: directory, calendars, tokens, faults, clock, log."""
    with store.writing():
        for model in _ALL_MODELS:
            model.objects.all().delete()
    faults.forget_random_state()


def seed_demo() -> seeding.SeedResult:
    """Create the demo tenant (idempotent): see ``graph_sandbox.seed``."""
    return seeding.ensure_demo_tenant()


# --- directory -------------------------------------------------------------------------


def mailbox(address: str) -> Mailbox:
    """The mailbox with this address (``Mailbox.DoesNotExist`` when unknown)."""
    return Mailbox.objects.select_related("tenant").get(address__iexact=address)


def mailbox_online_meeting_providers_set(address: str, providers: list[str]) -> None:
    """The ``allowedOnlineMeetingProviders`` of the user's calendars, the first the default:
    ``[]`` or ``["skypeForConsumer"]`` stand for a personal Microsoft account's calendar,
    which cannot make Teams (for business) meetings."""
    with store.writing():
        Mailbox.objects.filter(address__iexact=address).update(
            online_meeting_providers=list(providers)
        )


def mailbox_calendar_owner_set(address: str, owner_address: str) -> None:
    """The address Graph names as owner of the user's calendars ("" for the user's own):
    a personal Microsoft account signed in with, say, a Gmail address owns its calendars
    as ``outlook_<id>@outlook.com``."""
    with store.writing():
        Mailbox.objects.filter(address__iexact=address).update(
            calendar_owner_address=owner_address.lower()
        )


def mailbox_time_zone_set(address: str, time_zone: str) -> None:
    """The mailbox's own time zone (IANA): where its events, all-day ones too, are made."""
    with store.writing():
        Mailbox.objects.filter(address__iexact=address).update(time_zone=time_zone)


def app_register(
    *, client_id: str, client_secret: str, redirect_uris: list[str], name: str = "Test app"
) -> None:
    """Register another app in the demo tenant (seed it first)."""
    tenant = Tenant.objects.order_by("id").first()
    if tenant is None:
        raise LookupError("seed the demo tenant first")
    seeding.app_register(
        tenant=tenant,
        client_id=client_id,
        client_secret=client_secret,
        name=name,
        redirect_uris=redirect_uris,
    )


def grants_revoke(address: str, *, client_id: str | None = None) -> int:
    """Revoke the user's grants (one app's, or all): the next refresh gets ``invalid_grant``.

    The user's subscriptions (of those apps) get ``reauthorizationRequired``.

    Returns how many refresh tokens were revoked.
    """
    app = AppRegistration.objects.get(client_id=client_id) if client_id else None
    owner = mailbox(address)
    revoked = tokens.grants_revoke(mailbox=owner, app=app)
    subscription_services.reauthorization_demand_after_revocation(mailbox=owner, app=app)
    return revoked


def refresh_tokens_issued(address: str) -> int:
    """How many refresh tokens the mailbox was ever issued (a refresh adds one)."""
    return RefreshToken.objects.filter(mailbox=mailbox(address)).count()


# --- clock -----------------------------------------------------------------------------


def clock_now() -> datetime:
    return clock.sandbox_now()


def clock_set(offset: timedelta) -> None:
    """Run the sandbox clock ``offset`` ahead of real time (``timedelta(0)`` to undo)."""
    clock.clock_set_offset(offset=offset)


def clock_advance(by: timedelta) -> datetime:
    """Move the sandbox clock forward; returns the new sandbox time."""
    return clock.clock_advance(by=by)


# --- faults and limits ------------------------------------------------------------------


def faults_set(
    *,
    kinds: tuple[str, ...] | list[str] = (),
    fraction: float = 1.0,
    mailbox: str = "",
    applies_to: str = FaultTarget.GRAPH,
    retry_after: int = 1,
    slow_seconds: float = 3.0,
    latency_ms: int = 0,
    seed: int | None = None,
    times: int | None = None,
) -> int:
    """Add a fault rule; returns its id. Rules add up; ``faults_clear`` removes them.

    ``kinds`` among ``"429"``, ``"503"``, ``"slow"``, ``"drop"``, ``"drop_after"``,
    ``"unlicensed"`` (Graph only: ``404 MailboxNotEnabledForRESTAPI``, the mailbox's
    licence taken away) (one is picked per failing call); ``fraction`` of matching calls fail (with
    ``seed`` the same calls fail every run); ``mailbox`` limits the rule to one
    mailbox; ``applies_to`` is ``"graph"``, ``"identity"`` or ``"all"``;
    ``latency_ms`` is added to every matching call; ``times`` caps how many calls
    the rule fails in all.
    """
    unknown = set(kinds) - set(faults.FAULT_KINDS)
    if unknown:
        raise ValueError(f"unknown fault kinds {sorted(unknown)}; use {faults.FAULT_KINDS}")
    if not 0.0 <= fraction <= 1.0:
        raise ValueError("fraction must be between 0 and 1")
    if applies_to != FaultTarget.GRAPH and faults.GRAPH_ONLY_KINDS & set(kinds):
        raise ValueError(f"{sorted(faults.GRAPH_ONLY_KINDS)} apply to Graph calls only")
    if applies_to not in FaultTarget.values:
        raise ValueError(f"applies_to must be one of {FaultTarget.values}")
    with store.writing():
        rule = FaultRule.objects.create(
            mailbox_address=mailbox.lower(),
            applies_to=applies_to,
            kinds=list(kinds),
            fraction=fraction,
            retry_after_seconds=retry_after,
            slow_seconds=slow_seconds,
            latency_ms=latency_ms,
            seed=seed,
            remaining=times,
        )
    return rule.pk


def faults_clear() -> None:
    _rules_clear(FaultRule)


def mailbox_concurrency_set(limit: int) -> None:
    """Concurrent calls allowed per app and mailbox (Outlook: 4); 0 switches the limit off."""
    if limit < 0:
        raise ValueError("limit must be 0 (off) or more")
    store.state()
    with store.writing():
        SandboxState.objects.filter(pk=1).update(mailbox_concurrency=limit)


def delta_links_expire(*, status: int = 410) -> None:
    """Make every outstanding delta link ask for a full resync: ``410`` Gone, as after
    maintenance, or ``400`` ``syncStateNotFound``, as an expired Outlook delta token."""
    if status not in (400, 410):
        raise ValueError("status must be 400 or 410")
    current = store.state().sync_generation
    with store.writing():
        SandboxState.objects.filter(pk=1).update(
            sync_generation=current + 1, sync_expired_status=status
        )


def pages_url_set(url: str) -> None:
    """Serve the sign-in pages from ``url`` (e.g. ``live_server.url``); "" for the default."""
    store.state()
    with store.writing():
        SandboxState.objects.filter(pk=1).update(pages_url=url.rstrip("/"))


# --- calendars and events -----------------------------------------------------------------


def calendar_id(address: str, name: str) -> str:
    """The Graph id of the calendar called ``name`` in the mailbox's list."""
    return CalendarAccess.objects.get(mailbox=mailbox(address), name=name).graph_id


def event_add(
    address: str,
    *,
    subject: str,
    start: datetime,
    end: datetime,
    show_as: str = "busy",
    calendar: str | None = None,
    recurrence: dict | None = None,
    all_day: bool = False,
    time_zone: str | None = None,
) -> SandboxEvent:
    """Put an event in one of the mailbox's own calendars (default: its default calendar).

    ``recurrence`` (Graph's ``patternedRecurrence``) makes it a recurring series;
    ``all_day``: an all-day event (``start`` and ``end`` midnights in the mailbox's zone);
    ``time_zone``: the zone the event was made in (its ``originalStartTimeZone``; the
    mailbox's by default), such as ``"tzone://Microsoft/Custom"``, which Microsoft's event
    resource says desktop Outlook writes for a legacy custom time zone. Its times are
    shown in the zone each request asks for, like any event's; a single event only."""
    if time_zone is not None and recurrence is not None:
        raise ValueError("time_zone= is for single events")
    owner = mailbox(address)
    calendars = Calendar.objects.filter(owner=owner)
    target = calendars.get(name=calendar) if calendar else calendars.get(is_default=True)
    event = event_insert(
        calendar=target,
        subject=subject,
        start=start.astimezone(UTC),
        end=end.astimezone(UTC),
        show_as=show_as,
        time_zone=time_zone or owner.time_zone,
        recurrence=recurrence,
        is_all_day=all_day,
    )
    return _event_value(event)


def event_delete(address: str, event_id: str) -> None:
    """Delete an event from one of the mailbox's own calendars (an occurrence's id: that
    occurrence leaves its series)."""
    owned = Event.objects.filter(calendar__owner=mailbox(address))
    event = owned.filter(graph_id=event_id, deleted=False).first() or occurrence_find(
        owned, event_id
    )
    if event is None:
        raise Event.DoesNotExist(event_id)
    event_remove(event=event)


def occurrences(address: str, event_id: str, *, start: datetime, end: datetime) -> list[dict]:
    """A series' occurrences and exceptions in [start, end): id, type, start, end (UTC)."""
    master = Event.objects.get(graph_id=event_id, calendar__owner=mailbox(address))
    return [
        {"id": e.graph_id, "type": event_type(e), "start": e.start, "end": e.end}
        for e in series_instances(master, start.astimezone(UTC), end.astimezone(UTC))
    ]


def event_move(address: str, event_id: str, *, start: datetime, end: datetime) -> SandboxEvent:
    """Move an event of one of the mailbox's own calendars, as its owner does in Outlook."""
    event = Event.objects.get(graph_id=event_id, calendar__owner=mailbox(address), deleted=False)
    event_retime(event=event, start=start.astimezone(UTC), end=end.astimezone(UTC))
    return _event_value(event)


def calendar_delete(address: str, name: str) -> None:
    """Delete one of the mailbox's own calendars in Outlook: its events go with it.

    Graph then answers 404 ``ErrorItemNotFound`` for the calendar and for its events.
    """
    calendar_remove(calendar=Calendar.objects.get(owner=mailbox(address), name=name))


def events(
    address: str, *, calendar: str | None = None, include_deleted: bool = False
) -> list[SandboxEvent]:
    """Events in the mailbox's own calendars (or one of them, by name), earliest first."""
    rows = Event.objects.filter(calendar__owner=mailbox(address)).select_related(
        "calendar", "organizer"
    )
    if calendar:
        rows = rows.filter(calendar__name=calendar)
    if not include_deleted:
        rows = rows.filter(deleted=False)
    return [_event_value(e) for e in rows.order_by("start", "id")]


def _event_value(event: Event) -> SandboxEvent:
    return SandboxEvent(
        id=event.graph_id,
        calendar=event.calendar.name,
        subject=event.subject,
        start=event.start.astimezone(UTC),
        end=event.end.astimezone(UTC),
        time_zone=event.start_time_zone,
        show_as=event.show_as,
        is_reminder_on=event.is_reminder_on,
        reminder_minutes=event.reminder_minutes,
        attendees=[
            {
                "name": a["emailAddress"]["name"],
                "address": a["emailAddress"]["address"],
                "type": a["type"],
            }
            for a in event.attendees
        ],
        location=event.location.get("displayName", ""),
        body=event.body_content,
        transaction_id=event.transaction_id,
        is_online_meeting=event.is_online_meeting,
        join_url=event.join_url,
        organizer=event.organizer.address if event.organizer else "",
        is_cancelled=event.is_cancelled,
        deleted=event.deleted,
        created_at=event.created_at,
        modified_at=event.modified_at,
    )


# --- request log ---------------------------------------------------------------------------


def request_log(*, after_id: int = 0, path_prefix: str = "") -> list[LoggedCall]:
    """Calls to the TLS endpoints after ``after_id``, oldest first."""
    return [
        LoggedCall(
            id=e.pk,
            method=e.method,
            path=e.path,
            query=e.query,
            status=e.status,
            latency_ms=e.latency_ms,
            mailbox=e.mailbox,
            client_id=e.client_id,
            fault=e.fault,
        )
        for e in request_log_read(after_id=after_id, path_prefix=path_prefix)
    ]


# --- change notifications ---------------------------------------------------------------------

# The app that owns subscriptions_fill()'s subscriptions.
OTHER_APP_CLIENT_ID = "0f0f0f0f-0000-4000-8000-00000000f111"


def subscriptions(address: str | None = None) -> list[SandboxSubscription]:
    """Live subscriptions (of one mailbox, or all), oldest first."""
    rows = Subscription.objects.filter(expires_at__gt=clock.sandbox_now()).select_related(
        "mailbox", "app", "calendar"
    )
    if address:
        rows = rows.filter(mailbox=mailbox(address))
    return [_subscription_value(s) for s in rows.order_by("created_at", "id")]


def subscription_expire(subscription_id: str) -> None:
    """Let a subscription run out now, as if nobody renewed it: it notifies nobody any more."""
    with store.writing():
        Subscription.objects.filter(graph_id=subscription_id).update(expires_at=clock.sandbox_now())


def subscription_remove(subscription_id: str) -> None:
    """Microsoft removes a subscription: ``subscriptionRemoved`` goes to its lifecycle URL."""
    subscription_services.subscription_remove(subscription=_subscription(subscription_id))


def lifecycle_fire(
    subscription_id: str,
    lifecycle_event: str,
    *,
    grace: timedelta = subscription_services.REAUTHORIZATION_GRACE,
) -> bool:
    """Send a lifecycle notification now; False when the subscription has no lifecycle URL.

    - ``missed``: some change notifications were not delivered;
    - ``reauthorizationRequired``: the app must reauthorize (or renew) within
      ``grace``, after which changes are lost until it does;
    - ``subscriptionRemoved``: the same as ``subscription_remove``.
    """
    found = _subscription(subscription_id)
    if lifecycle_event == "subscriptionRemoved":
        had_url = bool(found.lifecycle_notification_url)
        subscription_services.subscription_remove(subscription=found)
        return had_url
    if lifecycle_event == "reauthorizationRequired":
        return subscription_services.reauthorization_demand(subscription=found, grace=grace)
    with store.writing():
        return outbox.lifecycle_enqueue(subscription=found, lifecycle_event=lifecycle_event)


def subscriptions_fill(address: str, count: int, *, client_id: str = OTHER_APP_CLIENT_ID) -> None:
    """Give the mailbox ``count`` more live subscriptions, made by another app (or ``client_id``).

    For the 1,000-per-mailbox limit and for paging. They watch the mailbox's
    events and point at an address that does not resolve, so change no events
    while they exist.
    """
    owner = mailbox(address)
    now = clock.sandbox_now()
    with store.writing():
        other, _ = AppRegistration.objects.get_or_create(
            client_id=client_id,
            defaults={"name": "Another app", "tenant": owner.tenant, "secret_hash": ""},
        )
        Subscription.objects.bulk_create(
            Subscription(
                graph_id=str(uuid.uuid4()),
                app=other,
                mailbox=owner,
                resource="me/events",
                change_type="created,updated,deleted",
                notification_url="https://another-app.invalid/notifications",
                created_at=now,
                expires_at=now + timedelta(days=2),
            )
            for _ in range(count)
        )


def subscription_lifetime_cap_set(minutes: int | None) -> None:
    """The longest lifetime granted, in minutes; None goes back to the setting (4,230)."""
    if minutes is not None and minutes < 45:
        raise ValueError("the cap must be at least 45 minutes (Graph's shortest lifetime)")
    store.state()
    with store.writing():
        SandboxState.objects.filter(pk=1).update(subscription_max_minutes=minutes)


def deliveries_set(
    *,
    kinds: tuple[str, ...] | list[str],
    fraction: float = 1.0,
    subscription: str = "",
    applies_to: str = DeliveryTarget.CHANGE,
    delay: timedelta | None = None,
    seed: int | None = None,
    times: int | None = None,
) -> int:
    """Add a delivery rule; returns its id. ``deliveries_clear`` removes them all.

    ``kinds`` among ``"drop"`` (never sent), ``"delay"`` (sent ``delay`` late,
    default 5 s), ``"duplicate"`` (sent twice, the copy ``delay`` later, default
    1 s) and ``"reorder"`` (held back until a later notification to the same URL
    has arrived, or ``delay`` passed, default 5 s); one is picked per struck
    notification. ``subscription`` limits the rule to one subscription;
    ``applies_to`` is ``"change"``, ``"lifecycle"`` or ``"all"``; ``times`` caps
    how many notifications it strikes. Delays run on the sandbox clock.
    """
    unknown = set(kinds) - set(outbox.CONTROL_KINDS)
    if unknown or not kinds:
        raise ValueError(f"kinds must be among {outbox.CONTROL_KINDS}, not {sorted(kinds)}")
    if not 0.0 <= fraction <= 1.0:
        raise ValueError("fraction must be between 0 and 1")
    if applies_to not in DeliveryTarget.values:
        raise ValueError(f"applies_to must be one of {DeliveryTarget.values}")
    if delay is None:
        delay = timedelta(seconds=1) if list(kinds) == ["duplicate"] else timedelta(seconds=5)
    with store.writing():
        rule = DeliveryRule.objects.create(
            kinds=list(kinds),
            fraction=fraction,
            subscription_id=subscription,
            applies_to=applies_to,
            delay_seconds=delay.total_seconds(),
            seed=seed,
            remaining=times,
        )
    return rule.pk


def deliveries_clear() -> None:
    _rules_clear(DeliveryRule)


def _rules_clear(model: type[FaultRule] | type[DeliveryRule]) -> None:
    with store.writing():
        model.objects.all().delete()
    faults.forget_random_state()


def deliveries_pause() -> None:
    """Hold every notification back (they wait, in order) until ``deliveries_resume``."""
    _set_paused(True)


def deliveries_resume() -> None:
    _set_paused(False)
    outbox.WAKE.set()


def notifications_waiting(subscription_id: str | None = None) -> int:
    """Notifications queued and not yet delivered or dropped."""
    rows = Notification.objects.all()
    if subscription_id:
        rows = rows.filter(subscription_id=subscription_id)
    return rows.count()


def delivery_log(
    *, after_id: int = 0, url_prefix: str = "", subscription_id: str = ""
) -> list[LoggedDelivery]:
    """What the sandbox sent (and dropped), oldest first: validations, notifications."""
    return [
        LoggedDelivery(
            id=e.pk,
            at=e.at,
            sandbox_at=e.sandbox_at,
            kind=e.kind,
            url=e.url,
            subscription_ids=list(e.subscription_ids),
            mailboxes=list(e.mailboxes),
            body=e.body,
            status=e.status,
            outcome=e.outcome,
            detail=e.detail,
            latency_ms=e.latency_ms,
            age_ms=e.age_ms,
        )
        for e in deliverylog.read(
            after_id=after_id, url_prefix=url_prefix, subscription_id=subscription_id
        )
    ]


def _set_paused(paused: bool) -> None:
    store.state()
    with store.writing():
        SandboxState.objects.filter(pk=1).update(delivery_paused=paused)


def _subscription(subscription_id: str) -> Subscription:
    return Subscription.objects.select_related("mailbox__tenant", "app").get(
        graph_id=subscription_id
    )


def _subscription_value(row: Subscription) -> SandboxSubscription:
    return SandboxSubscription(
        id=row.graph_id,
        address=row.mailbox.address,
        client_id=row.app.client_id,
        resource=row.resource,
        calendar=row.calendar.name if row.calendar else None,
        change_type=row.change_type,
        notification_url=row.notification_url,
        lifecycle_notification_url=row.lifecycle_notification_url,
        client_state=row.client_state,
        expires_at=row.expires_at,
        reauthorize_by=row.reauthorize_by,
    )
