"""Change notifications: the provider tells us within seconds that an account's events changed.

One subscription per connected account (``ChangeSubscription``) while some active page
reads busy time from it, watching every event of the account (Microsoft documents
event subscriptions for a whole mailbox, ``me/events``). A notification means only
"this account changed": never trusted for busy time, it queues a debounced delta sync
of the account's busy calendars (``notices_receive``; the web request touches the
database only). Polling stays as the safety net: beat reads an account with a live
subscription every ``CALENDAR_SYNC_INTERVAL_LIVE`` (30 minutes), one without every
``CALENDAR_SYNC_INTERVAL`` (5 minutes).

Lifecycle: ``subscription_ensure`` runs at the start of every sync of the account
(connect, reconnect, a page's calendars changing, beat's cycles all queue one), under
the sync's lease and mailbox slot, *before* the calendars are read, so no change falls
between the read and the subscription. It creates the subscription (asking for
``CALENDAR_NOTIFICATIONS_LIFETIME_MINUTES``, and shorter lifetimes when the provider
refuses that as too long), renews it from the expiry the provider granted once half
of it has passed, and deletes it when no page needs the account any more. Lifecycle
notifications: ``reauthorizationRequired`` renews (which also reauthorizes) and syncs,
``subscriptionRemoved`` makes a new one and syncs, ``missed`` reads the busy calendars
in full. A host's disconnect deletes it (``subscription_farewell``).

Strays: every create, renewal and deletion also lists the account's subscriptions at
the provider and deletes those of ours (our notification URL) that no connection here
holds: one whose create answered too late to be recorded, or one an earlier connection
of the account left behind when its sign-in had already ended and could not delete it
(``subscription_strays_delete``). Another deployment of the same app (other URL) and
other apps are never touched.

Where the provider cannot reach us (``SITE_URL`` not public HTTPS in production), or
with ``CALENDAR_NOTIFICATIONS=0``, nothing is subscribed, Setup and ``check --deploy``
say why, and polling goes on every 5 minutes.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from calendars.error_text import error_about, error_shown, error_stored
from calendars.models import CalendarConnection, CalendarSyncState, ChangeSubscription
from calendars.providers import CalendarProvider, ProviderError, get_provider
from calendars.providers.base import LifetimeRefused, RemoteSubscription, SubscriptionGone
from calendars.services.tokens import with_provider
from outbox import dispatch

logger = logging.getLogger(__name__)

NOTIFIED_SYNC_TASK = "calendars.tasks.sync_notified"
LIFECYCLE_EVENTS = frozenset({"reauthorizationRequired", "subscriptionRemoved", "missed"})
# Compared against for unknown subscriptions too, so a stranger learns nothing from timing.
_NO_DIGEST = "0" * 64


# --- where notifications can work ------------------------------------------------------------


def _is_local_host(host: str) -> bool:
    host = host.lower()
    if host in ("localhost", "") or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_private or address.is_link_local


def notifications_unavailable_reason() -> str:
    """Why the provider cannot send us change notifications ("" when it can).

    They need ``SITE_URL`` to be a public HTTPS address. In local development (``DEBUG``)
    an address on this machine is tried too: a local stand-in for Microsoft reaches it
    (Microsoft itself refuses it, and Setup then shows its answer).
    """
    if not settings.CALENDAR_NOTIFICATIONS:
        return _("turned off by the operator (CALENDAR_NOTIFICATIONS=0)")
    parts = urlsplit(settings.SITE_URL)
    if _is_local_host(parts.hostname or ""):
        if settings.DEBUG:
            return ""
        return _("SITE_URL (%(url)s) is not a public address Microsoft can reach") % {
            "url": settings.SITE_URL
        }
    if parts.scheme != "https":
        return _("SITE_URL (%(url)s) is not HTTPS, which Microsoft requires") % {
            "url": settings.SITE_URL
        }
    return ""


def webhook_urls(provider_key: str) -> tuple[str, str]:
    """The notification and lifecycle URLs the provider is given (on ``SITE_URL``)."""
    base = settings.SITE_URL.rstrip("/")
    return (
        base + reverse(f"{provider_key}_webhook_notifications"),
        base + reverse(f"{provider_key}_webhook_lifecycle"),
    )


def _digest(client_state: str) -> str:
    return hashlib.sha256(client_state.encode()).hexdigest()


def _live(now: datetime) -> Q:
    """Subscriptions that notify now and are not due for renewal."""
    return (
        Q(remote_id__gt="")
        & Q(expires_at__gt=now)
        & (Q(renew_at__isnull=True) | Q(renew_at__gt=now))
    )


def live_connection_ids(*, now: datetime | None = None) -> set[int]:
    """Connections whose change notifications are live (beat polls them less often)."""
    now = now or timezone.now()
    return set(ChangeSubscription.objects.filter(_live(now)).values_list("pk", flat=True))


def unneeded_connection_ids(*, busy_ids: set[int]) -> list[int]:
    """Connected accounts holding a subscription that no page needs any more."""
    rows = ChangeSubscription.objects.filter(
        remote_id__gt="", connection__status="connected"
    ).values_list("pk", flat=True)
    return sorted(set(rows) - busy_ids)


# --- receiving (web requests: the database only, never the provider) -------------------------


@dataclass(frozen=True)
class Notice:
    """One item of a notification POST: a change (``lifecycle_event`` "") or a lifecycle event."""

    subscription_id: str
    client_state: str
    lifecycle_event: str = ""


def notices_receive(*, notices: list[Notice], now: datetime | None = None) -> int:
    """Act on notifications the provider sent; returns how many were accepted.

    Each must name a subscription we hold and carry its client state (compared in
    constant time); others are logged (without their content) and ignored. A change
    queues a debounced sync of the account; lifecycle events see the module docstring.
    Never calls the provider: safe inside a web request that must answer at once.
    """
    now = now or timezone.now()
    accepted = 0
    for notice in notices:
        subscription = _verified(notice)
        if subscription is None:
            continue
        accepted += 1
        _act_on(subscription, notice=notice, now=now)
    return accepted


def _verified(notice: Notice) -> ChangeSubscription | None:
    subscription = None
    if notice.subscription_id:
        subscription = ChangeSubscription.objects.filter(
            remote_id=notice.subscription_id[:255]
        ).first()
    expected = subscription.client_state_digest if subscription else _NO_DIGEST
    matches = hmac.compare_digest(_digest(notice.client_state), expected or _NO_DIGEST)
    if subscription is None:
        logger.warning("Ignored a change notification for an unknown subscription")
        return None
    if not matches:
        logger.warning(
            "Ignored a change notification with a wrong clientState (connection %s)",
            subscription.pk,
        )
        return None
    return subscription


def _act_on(subscription: ChangeSubscription, *, notice: Notice, now: datetime) -> None:
    connection_id = subscription.pk
    event = notice.lifecycle_event
    ChangeSubscription.objects.filter(pk=connection_id).update(notified_at=now)
    if event == "subscriptionRemoved":
        ChangeSubscription.objects.filter(
            pk=connection_id, remote_id=subscription.remote_id
        ).update(**_FORGOTTEN, retry_at=None)
    elif event == "reauthorizationRequired":
        ChangeSubscription.objects.filter(pk=connection_id).update(renew_at=now)
    elif event == "missed":
        # Notifications were lost: read every busy calendar in full, not through its link.
        CalendarSyncState.objects.filter(calendar__connection_id=connection_id).update(
            delta_link=""
        )
    elif event:
        logger.info("Ignored lifecycle event %r (connection %s)", event[:40], connection_id)
        return
    if event:
        logger.info("Lifecycle event %s for connection %s", event, connection_id)
    sync_soon(connection_id=connection_id, now=now)


def sync_soon(*, connection_id: int, now: datetime | None = None) -> bool:
    """Queue a sync of the account in ``CALENDAR_NOTIFICATIONS_DEBOUNCE_MS``, unless one is
    queued already (notifications meanwhile are folded into it). True if queued now."""
    now = now or timezone.now()
    delay = settings.CALENDAR_NOTIFICATIONS_DEBOUNCE_MS / 1000
    taken = (
        ChangeSubscription.objects.filter(pk=connection_id)
        .filter(Q(sync_queued_until__isnull=True) | Q(sync_queued_until__lte=now))
        .update(sync_queued_until=now + timedelta(seconds=delay))
    )
    if taken:
        dispatch.task_send_on_commit(
            NOTIFIED_SYNC_TASK, args_list=[[connection_id]], countdown=delay or None
        )
    return bool(taken)


def sync_started(*, connection_id: int) -> None:
    """A queued sync starts: notifications from now on queue another (it may read too early)."""
    ChangeSubscription.objects.filter(pk=connection_id).update(sync_queued_until=None)


# --- keeping the subscription (workers only, inside the account's sync) -----------------------

_FORGOTTEN = {"remote_id": "", "client_state_digest": "", "expires_at": None, "renew_at": None}


def subscription_ensure(
    *, connection: CalendarConnection, needed: bool, now: datetime | None = None
) -> str:
    """Make the account's subscription what it should be; returns what was done.

    Never called in a web request. Never raises a ProviderError: a failed create is
    recorded for Setup (``last_error``, tried again from ``retry_at``); a failed renewal
    or deletion keeps the subscription (it notifies until it expires) and is tried again
    at a later sync. Polling goes on either way.
    """
    provider = get_provider(connection.provider)
    if not provider.supports_notifications:
        return "unsupported"
    now = now or timezone.now()
    subscription, _created = ChangeSubscription.objects.get_or_create(connection=connection)
    unavailable = notifications_unavailable_reason()
    if not needed or unavailable:
        if subscription.remote_id:
            try:
                _delete(connection, subscription)
            except ProviderError as error:
                # Kept: the next cycle tries again (beat queues unneeded ones).
                return _failed(connection, error, what="delete")
            subscription_strays_delete(connection=connection)
        return "not needed" if not needed else "unavailable"
    if subscription.remote_id and subscription.expires_at and subscription.expires_at > now:
        if subscription.renew_at and subscription.renew_at > now:
            return "live"
        try:
            return _swept(connection, _renew(connection, subscription, provider=provider, now=now))
        except SubscriptionGone:
            pass  # expired or removed meanwhile: make a new one
        except ProviderError as error:
            # It still notifies until it expires: keep it, and renew again a little later.
            wait = error.retry_after or settings.CALENDAR_SYNC_INTERVAL
            ChangeSubscription.objects.filter(pk=subscription.pk).update(
                renew_at=min(now + timedelta(seconds=wait), subscription.expires_at)
            )
            return _failed(connection, error, what="renew")
    if subscription.retry_at and subscription.retry_at > now:
        return "waiting"
    try:
        done = _create(connection, subscription, provider=provider, now=now)
    except ProviderError as error:
        _record_failure(connection, error, now=now)
        return _failed(connection, error, what="create")
    return _swept(connection, done)


def _swept(connection: CalendarConnection, done: str) -> str:
    """``done``, once the account's stray subscriptions are deleted too."""
    subscription_strays_delete(connection=connection)
    return done


def subscription_strays_delete(*, connection: CalendarConnection) -> list[str]:
    """Delete the account's subscriptions at the provider that notify our URL but that no
    connection here holds; returns their ids. Never raises a ProviderError: a stray
    left now is tried again at the next renewal, and expires by itself (3 days at most).

    "Held" counts every connection, not just this one: two hosts may have connected the
    same mailbox, and each one's subscription is listed for the other.
    """
    notification_url, _lifecycle = webhook_urls(connection.provider)
    try:
        listed = with_provider(
            connection=connection,
            action=lambda p, token: p.list_subscriptions(access_token=token),
        )
        ours = {item.remote_id for item in listed if item.notification_url == notification_url}
        held = set(
            ChangeSubscription.objects.filter(remote_id__in=ours).values_list(
                "remote_id", flat=True
            )
        )
        strays = sorted(ours - held)
        for remote_id in strays:
            with_provider(
                connection=connection,
                action=lambda p, token, remote_id=remote_id: p.delete_subscription(
                    access_token=token, remote_id=remote_id
                ),
            )
    except ProviderError as error:
        logger.info(
            "Stray subscriptions of connection %s not deleted (%s %s); next renewal tries again",
            connection.pk,
            error.status or "",
            error.code,
        )
        return []
    if strays:
        logger.info(
            "Deleted %s stray change-notification subscription(s) of connection %s",
            len(strays),
            connection.pk,
        )
    return strays


def _failed(connection: CalendarConnection, error: ProviderError, *, what: str) -> str:
    logger.warning(
        "Change notifications for connection %s: %s failed (%s %s); polling goes on",
        connection.pk,
        what,
        error.status or "",
        error.code,
    )
    return f"{what} failed ({error.status or ''} {error.code})".replace("( ", "(")


def subscription_check(*, connection: CalendarConnection) -> str:
    """Busy time changed without a notification while they were live: renew now.

    A subscription the provider dropped quietly (it expired or was removed without a
    lifecycle notification reaching us) answers 404, and a new one is made; a live one
    just moves its expiry. One call, only when the safety net caught a change.
    """
    ChangeSubscription.objects.filter(pk=connection.pk).update(renew_at=timezone.now())
    what = subscription_ensure(connection=connection, needed=True)
    logger.info(
        "sync_connection connection=%s: changes came without a notification; subscription %s",
        connection.pk,
        what,
    )
    return what


def _lifetimes(provider: CalendarProvider) -> list[int]:
    asked = settings.CALENDAR_NOTIFICATIONS_LIFETIME_MINUTES
    return [asked, *(m for m in provider.notification_lifetimes_minutes if m < asked)]


def _with_lifetimes(provider: CalendarProvider, attempt, now: datetime) -> RemoteSubscription:
    """``attempt(expires_at)`` with the longest lifetime the provider accepts."""
    lifetimes = _lifetimes(provider)
    for number, minutes in enumerate(lifetimes):
        try:
            return attempt(now + timedelta(minutes=minutes))
        except LifetimeRefused:
            if number == len(lifetimes) - 1:
                raise
            logger.info("Subscription lifetime of %s minutes refused; asking less", minutes)
    raise AssertionError("unreachable")  # pragma: no cover


def _granted(
    subscription: ChangeSubscription, granted: RemoteSubscription, *, now: datetime, **more
) -> None:
    """Store what the provider granted; renew once half of the granted lifetime passed."""
    renew_at = now + max((granted.expires_at - now) / 2, timedelta(minutes=1))
    ChangeSubscription.objects.filter(pk=subscription.pk).update(
        remote_id=granted.remote_id[:255],
        expires_at=granted.expires_at,
        renew_at=renew_at,
        last_error="",
        retry_at=None,
        **more,
    )


def _create(
    connection: CalendarConnection,
    subscription: ChangeSubscription,
    *,
    provider: CalendarProvider,
    now: datetime,
) -> str:
    client_state = secrets.token_urlsafe(48)  # 64 characters; Graph allows 128
    notification_url, lifecycle_url = webhook_urls(connection.provider)

    def attempt(expires_at: datetime) -> RemoteSubscription:
        return with_provider(
            connection=connection,
            action=lambda p, token: p.subscribe(
                access_token=token,
                notification_url=notification_url,
                lifecycle_url=lifecycle_url,
                client_state=client_state,
                expires_at=expires_at,
            ),
        )

    # The new client state is stored before the provider validates and answers; the
    # remote id only once it has answered. Notifications are looked up by that id, so one
    # that arrives in between is ignored as unknown: harmless, since subscriptions are
    # made by the busy-time sync before it reads, and that read sees what it announced.
    ChangeSubscription.objects.filter(pk=subscription.pk).update(
        client_state_digest=_digest(client_state), remote_id=""
    )
    granted = _with_lifetimes(provider, attempt, now)
    _granted(subscription, granted, now=now)
    logger.info(
        "Change notifications for connection %s live until %s",
        connection.pk,
        f"{granted.expires_at:%Y-%m-%dT%H:%MZ}",
    )
    return "created"


def _renew(
    connection: CalendarConnection,
    subscription: ChangeSubscription,
    *,
    provider: CalendarProvider,
    now: datetime,
) -> str:
    remote_id = subscription.remote_id

    def attempt(expires_at: datetime) -> RemoteSubscription:
        return with_provider(
            connection=connection,
            action=lambda p, token: p.renew_subscription(
                access_token=token, remote_id=remote_id, expires_at=expires_at
            ),
        )

    granted = _with_lifetimes(provider, attempt, now)
    _granted(subscription, granted, now=now)
    return "renewed"


def _delete(connection: CalendarConnection, subscription: ChangeSubscription) -> None:
    remote_id = subscription.remote_id
    with_provider(
        connection=connection,
        action=lambda p, token: p.delete_subscription(access_token=token, remote_id=remote_id),
    )
    ChangeSubscription.objects.filter(pk=subscription.pk, remote_id=remote_id).update(
        **_FORGOTTEN, last_error="", retry_at=None
    )
    logger.info("Change notifications for connection %s deleted", connection.pk)


def _record_failure(connection: CalendarConnection, error: ProviderError, *, now: datetime) -> None:
    about = ""
    if error.status == 403 and "maximum number of subscriptions" in error.message.lower():
        about = FULL
    elif error.status == 400 and not isinstance(error, LifetimeRefused):
        # Graph's 400 on a create is mostly its validation request failing.
        about = NOT_VALIDATED
    stored = error_stored(error, provider_key=connection.provider, about=about)
    retry_at = now + timedelta(seconds=error.retry_after or settings.CALENDAR_SYNC_INTERVAL)
    ChangeSubscription.objects.filter(pk=connection.pk).update(
        **_FORGOTTEN, last_error=stored, retry_at=retry_at
    )


# What a subscription's kept failure was about, for words of its own (``_failure_words``).
FULL, NOT_VALIDATED = "subscriptions_full", "not_validated"


def _failure_words(stored: str, *, connection: CalendarConnection) -> str:
    """A kept failure to subscribe, in the reader's language."""
    vendor = get_provider(connection.provider).vendor
    about = error_about(stored)
    if about == FULL:
        return _(
            "the mailbox already has the most change-notification subscriptions %(vendor)s "
            "allows (1,000, for all apps together)"
        ) % {"vendor": vendor}
    if about == NOT_VALIDATED:
        return _("%(vendor)s could not validate our notification address (%(url)s): %(words)s") % {
            "vendor": vendor,
            "url": webhook_urls(connection.provider)[0],
            "words": error_shown(stored),
        }
    return error_shown(stored)


# --- how it stands, for Setup and operators ---------------------------------------------------


@dataclass(frozen=True)
class NotificationStatus:
    """An account's change notifications: ``state`` is live, pending, failing, off or unused."""

    state: str
    until: datetime | None = None
    reason: str = ""  # why not live, in words
    retry_at: datetime | None = None


def notification_status_for(
    *, connection: CalendarConnection, busy: bool, now: datetime | None = None
) -> NotificationStatus:
    """Where the account's change notifications stand (one query)."""
    now = now or timezone.now()
    if not get_provider(connection.provider).supports_notifications or not busy:
        return NotificationStatus("unused")
    unavailable = notifications_unavailable_reason()
    if unavailable:
        return NotificationStatus("off", reason=unavailable)
    subscription = ChangeSubscription.objects.filter(pk=connection.pk).first()
    if subscription is None:
        return NotificationStatus("pending")
    if subscription.remote_id and subscription.expires_at and subscription.expires_at > now:
        return NotificationStatus("live", until=subscription.expires_at)
    if subscription.last_error:
        return NotificationStatus(
            "failing",
            reason=_failure_words(subscription.last_error, connection=connection),
            retry_at=subscription.retry_at,
        )
    return NotificationStatus("pending")
