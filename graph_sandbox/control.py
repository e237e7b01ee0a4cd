"""Controls for tests (and later issues): plain functions on the sandbox's store.

Import this from tests only; the product never imports ``graph_sandbox``. Every
function works on the ``graph_sandbox`` database alias, so a test needs that
database (the ``graph_sandbox_server`` fixture takes care of it).

Times are aware datetimes; events are returned as ``SandboxEvent`` values with
everything the product sends (attendees, reminder, transactionId, location,
online meeting).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from graph_sandbox import clock, faults, store
from graph_sandbox import seed as seeding
from graph_sandbox.graph.events import calendar_remove, event_insert, event_remove, event_retime
from graph_sandbox.identity import tokens
from graph_sandbox.models import (
    AccessToken,
    AppRegistration,
    AuthorizationCode,
    Calendar,
    CalendarAccess,
    Consent,
    Event,
    FaultRule,
    FaultTarget,
    Mailbox,
    RefreshToken,
    RequestLogEntry,
    SandboxState,
    Tenant,
)
from graph_sandbox.requestlog import request_log_read

# Deleted in this order by reset() (children first).
_ALL_MODELS = (
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

    Returns how many refresh tokens were revoked.
    """
    app = AppRegistration.objects.get(client_id=client_id) if client_id else None
    return tokens.grants_revoke(mailbox=mailbox(address), app=app)


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

    ``kinds`` among ``"429"``, ``"503"``, ``"slow"``, ``"drop"``, ``"drop_after"``
    (one is picked per failing call); ``fraction`` of matching calls fail (with
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
    with store.writing():
        FaultRule.objects.all().delete()
    faults.forget_random_state()


def mailbox_concurrency_set(limit: int) -> None:
    """Concurrent calls allowed per app and mailbox (Outlook: 4); 0 switches the limit off."""
    if limit < 0:
        raise ValueError("limit must be 0 (off) or more")
    store.state()
    with store.writing():
        SandboxState.objects.filter(pk=1).update(mailbox_concurrency=limit)


def delta_links_expire() -> None:
    """Make every outstanding delta link answer 410 ``SyncStateNotFound`` (full resync)."""
    current = store.state().sync_generation
    with store.writing():
        SandboxState.objects.filter(pk=1).update(sync_generation=current + 1)


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
) -> SandboxEvent:
    """Put an event in one of the mailbox's own calendars (default: its default calendar)."""
    owner = mailbox(address)
    calendars = Calendar.objects.filter(owner=owner)
    target = calendars.get(name=calendar) if calendar else calendars.get(is_default=True)
    event = event_insert(
        calendar=target,
        subject=subject,
        start=start.astimezone(UTC),
        end=end.astimezone(UTC),
        show_as=show_as,
        time_zone=owner.time_zone,
    )
    return _event_value(event)


def event_delete(address: str, event_id: str) -> None:
    """Delete an event from one of the mailbox's own calendars."""
    event = Event.objects.get(graph_id=event_id, calendar__owner=mailbox(address), deleted=False)
    event_remove(event=event)


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
