"""Celery tasks of the calendar integration: thin wrappers that take ids and call services.

Beat runs ``keep_connections_alive`` daily, ``check_connection_expiry`` hourly and
``sync_all_connections`` every ``CALENDAR_SYNC_INTERVAL`` seconds (which queues the
accounts that are due: all without live change notifications, the others every
``CALENDAR_SYNC_INTERVAL_LIVE``); ``sync_notified`` runs when the provider notified a
change (``calendars.services.subscriptions``); lost pushes are
re-queued by the outbox sweeper (settings.CELERY_BEAT_SCHEDULE). Every task is safe
to run twice.

``push_event`` and ``sync_connection`` hold a lease (``CALENDAR_TASK_LEASE``) on
their row and on a mailbox slot; their hard time limit ends them before that lease
does, so a task that hangs can never overlap the worker that takes its work over.
Messages are acknowledged late and re-queued when a worker process is lost
(``task_acks_late``, ``task_reject_on_worker_lost``; see settings).
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings

from calendars import crypto
from calendars.dispatch import PUSH_TASK, SYNC_TASK, push_enqueue, sync_enqueue
from calendars.models import CalendarConnection
from calendars.providers import ProviderError, get_provider
from calendars.services.busy_sync import connection_sync, connections_due
from calendars.services.expiry import (
    check_expiry,
    connection_keep_alive,
    connections_due_for_keepalive,
)
from calendars.services.push import pushed_event_push, pushes_in_bundle
from calendars.services.push_queue import pushes_sweep
from calendars.services.subscription_farewell import DELETE_TASK
from calendars.services.subscriptions import NOTIFIED_SYNC_TASK, sync_started
from outbox import dispatch

logger = logging.getLogger(__name__)

KEEPALIVE_RETRY_SECONDS = 15 * 60
# Stop a push or sync well before its lease (and mailbox slot) may be taken over.
LEASED_TASK_OPTIONS = {
    "acks_late": True,
    "reject_on_worker_lost": True,
    "ignore_result": True,
    "soft_time_limit": max(2, settings.CALENDAR_TASK_LEASE // 2),
    "time_limit": max(3, settings.CALENDAR_TASK_LEASE * 3 // 4),
}
SYNC_MAX_RETRIES = 3


@shared_task(name="calendars.tasks.keep_connections_alive", ignore_result=True)
def keep_connections_alive() -> int:
    """Queue one keep-alive per connection whose refresh token is due; returns the count."""
    ids = list(connections_due_for_keepalive().values_list("pk", flat=True))
    for connection_id in ids:
        keep_connection_alive.delay(connection_id)
    return len(ids)


@shared_task(
    name="calendars.tasks.keep_connection_alive", bind=True, max_retries=8, ignore_result=True
)
def keep_connection_alive(self, connection_id: int) -> bool:
    """Refresh one connection's sign-in if still due; retry later on a temporary failure."""
    connection = CalendarConnection.objects.live().filter(pk=connection_id).first()
    if connection is None:
        return False
    try:
        return connection_keep_alive(connection=connection)
    except ProviderError as error:
        if error.permanent:
            return False  # already disconnected, and the host was told
        logger.warning("Keep-alive of connection %s failed: %s", connection_id, error.code)
        countdown = error.retry_after or KEEPALIVE_RETRY_SECONDS
        if not dispatch.countdown_held(countdown):
            return False  # beat's next keep-alive round finds it due again
        raise self.retry(countdown=countdown) from None


@shared_task(name="calendars.tasks.check_connection_expiry", ignore_result=True)
def check_connection_expiry() -> dict[str, list[int]]:
    """Disconnect expired connections and send due expiry warnings."""
    expired, warned = check_expiry()
    return {"expired": expired, "warned": warned}


# --- event push ---------------------------------------------------------------------------

# A bundle's push items may push their companions of the same account (see the service).
dispatch.bundle_around(pushes_in_bundle)


@shared_task(name=PUSH_TASK, **LEASED_TASK_OPTIONS)
def push_event(pushed_event_id: int) -> str:
    """Make one calendar match one outbox row; queue itself again when asked to."""
    outcome = pushed_event_push(pushed_event_id=pushed_event_id)
    if outcome.retry_in is not None:
        push_enqueue(pushed_event_id, countdown=outcome.retry_in)
    return outcome.status


@shared_task(name="calendars.tasks.sweep_pushes", ignore_result=True)
def sweep_pushes() -> int:
    """Re-queue pushes whose task was lost; returns how many. Beat runs every outbox's
    sweeper (this one included) as ``outbox.tasks.sweep_outboxes``."""
    return len(pushes_sweep())


# --- busy-time sync -----------------------------------------------------------------------


@shared_task(name="calendars.tasks.sync_all_connections", ignore_result=True)
def sync_all_connections() -> int:
    """Queue a busy-time sync of every connection that is due (see ``connections_due``: its
    busy calendars are stale, or its change notifications need making, renewing or
    deleting); returns the count."""
    ids = connections_due()
    for connection_id in ids:
        sync_enqueue(connection_id)
    return len(ids)


@shared_task(name=SYNC_TASK, bind=True, max_retries=SYNC_MAX_RETRIES, **LEASED_TASK_OPTIONS)
def sync_connection(self, connection_id: int) -> str:
    """Sync one connection's busy calendars; retry failed ones with backoff."""
    outcome = connection_sync(connection_id=connection_id, attempt=self.request.retries + 1)
    if outcome.status == "busy":
        sync_enqueue(connection_id, countdown=outcome.retry_in)
    elif (
        outcome.retry_in is not None
        and self.request.retries < SYNC_MAX_RETRIES
        and dispatch.countdown_held(outcome.retry_in)  # else beat's cycle queues it
    ):
        raise self.retry(countdown=outcome.retry_in)
    return outcome.status


# Seconds before a notified sync tries again when another worker holds the connection:
# doubling from half a second, at most 10 (a live holder is done in about a second; a
# killed one's lease runs out after CALENDAR_TASK_LEASE).
NOTIFIED_SYNC_WAIT = 0.5
NOTIFIED_SYNC_WAIT_CAP = 10.0


@shared_task(name=NOTIFIED_SYNC_TASK, **LEASED_TASK_OPTIONS)
def sync_notified(connection_id: int, waited: int = 0) -> str:
    """The provider notified a change (or a lifecycle event): sync the account now.

    Unlike beat's sync it never gives up to another worker's lease: that sync may have
    read before the change, so this one waits its turn (``waited``: times so far).
    """
    sync_started(connection_id=connection_id)
    outcome = connection_sync(connection_id=connection_id, notified=True)
    if outcome.status == "busy" or outcome.held_elsewhere:
        wait = min(NOTIFIED_SYNC_WAIT * 2**waited, NOTIFIED_SYNC_WAIT_CAP)
        dispatch.task_send(
            NOTIFIED_SYNC_TASK,
            args=[connection_id, waited + 1],
            countdown=outcome.retry_in or wait,
        )
    elif outcome.retry_in is not None:
        sync_enqueue(connection_id, countdown=outcome.retry_in)
    return outcome.status


@shared_task(name=DELETE_TASK, ignore_result=True)
def delete_subscription(provider_key: str, remote_id: str, encrypted_token: str) -> bool:
    """Delete a disconnected account's subscription with the token saved for it (once)."""
    try:
        token = crypto.decrypt(encrypted_token)
        get_provider(provider_key).delete_subscription(access_token=token, remote_id=remote_id)
    except (ProviderError, crypto.TokenKeyError) as error:
        logger.info("Deleting a subscription failed (%s); it expires by itself", error)
        return False
    return True
