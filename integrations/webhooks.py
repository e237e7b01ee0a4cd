"""Outgoing webhooks: endpoints, their signing secrets, and deliveries through the outbox.

A delivery row is written in the transaction of the change it announces
(``integrations.receivers``) and its task queued on commit; the task
(``delivery_deliver``) posts it, signed per Standard Webhooks, and settles it:

- a 2xx answer: delivered;
- no answer (network error, timeout), 408, 429 or 5xx: retried with exponential
  backoff and full jitter (``outbox.backoff``), never sooner than the receiver's
  ``Retry-After``, until ``retry_until`` (``WEBHOOK_RETRY_WINDOW`` after the event),
  then failed;
- any other answer (other 4xx, a redirect, which is never followed) or a URL that
  now resolves to a refused address: failed at once.

Order: deliveries with the same ``order_key`` (one booking, one calendar
connection) to one endpoint go out one at a time in the order they were written.
A delivery whose predecessor is still pending waits, and the predecessor wakes it
once settled (delivered or failed). The sweeper re-queues anything a lost task or a
killed worker left behind; the ``webhook-id`` stays the same, so a receiver that
de-duplicates sees every event exactly once.

An endpoint whose deliveries failed for ``WEBHOOK_DISABLE_AFTER`` (5 days) with no
success in between is disabled, its pending deliveries failed, and its owner emailed.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from calendars import crypto
from integrations import signing
from integrations.models import TEST_EVENT, DeliveryState, WebhookDelivery, WebhookEndpoint
from integrations.outbound import Answer, UnsafeTarget, post, target_check
from outbox import dispatch
from outbox.backoff import retry_delay
from outbox.claims import Claim, LostClaim, claim_take, is_unclaimed
from outbox.outcomes import Outcome, Status
from outbox.sweeper import items_requeue

logger = logging.getLogger(__name__)

WEBHOOK_TASK = "integrations.tasks.deliver_webhook"
dispatch.bundle_allow(WEBHOOK_TASK)  # one message with the booking's push and emails
# A retry further away than this is not held by the broker as a countdown (Redis hands
# unacknowledged messages out again after its visibility timeout): the sweeper queues it
# once it is due.
MAX_COUNTDOWN = dispatch.MAX_COUNTDOWN
# Answers that may pass if tried again later.
RETRIED_STATUSES = frozenset({408, 429})
# How long the old secret keeps signing after a rotation.
ROTATION_OVERLAP = timedelta(hours=24)


# --- endpoints ------------------------------------------------------------------------


def endpoint_create(
    *, owner, url: str, events: list[str], description: str = "", organization=None
) -> tuple[WebhookEndpoint, str]:
    """A new endpoint and its signing secret (returned once: only its ciphertext is kept).
    With ``organization`` (the caller checked that ``owner`` is an admin there), it
    receives the events of every member.

    Raises UnsafeTarget when the URL may not be used.
    """
    target_check(url)
    secret = signing.secret_generate()
    endpoint = WebhookEndpoint.objects.create(
        owner=owner,
        organization=organization,
        url=url.strip(),
        events=list(events),
        description=description,
        secret_encrypted=crypto.encrypt(secret),
    )
    return endpoint, secret


def endpoint_update(
    *, endpoint: WebhookEndpoint, url: str, events: list[str], description: str, is_active: bool
) -> WebhookEndpoint:
    """Change an endpoint; switching it back on forgets its failures. Raises UnsafeTarget."""
    target_check(url)
    endpoint.url = url.strip()
    endpoint.events = list(events)
    endpoint.description = description
    if is_active and not endpoint.is_active:
        endpoint.failing_since = None
        endpoint.disabled_at = None
        endpoint.disabled_reason = ""
    endpoint.is_active = is_active
    endpoint.save()
    return endpoint


def endpoint_rotate_secret(*, endpoint: WebhookEndpoint, now: datetime | None = None) -> str:
    """A new secret (returned once); the current one keeps signing for 24 hours."""
    now = now or timezone.now()
    secret = signing.secret_generate()
    endpoint.previous_secret_encrypted = endpoint.secret_encrypted
    endpoint.previous_secret_expires_at = now + ROTATION_OVERLAP
    endpoint.secret_encrypted = crypto.encrypt(secret)
    endpoint.save(
        update_fields=[
            "previous_secret_encrypted",
            "previous_secret_expires_at",
            "secret_encrypted",
            "updated_at",
        ]
    )
    return secret


def endpoint_secrets(*, endpoint: WebhookEndpoint, now: datetime | None = None) -> list[str]:
    """The secrets a delivery is signed with now: the current one, and the previous one
    during the 24 hours after a rotation."""
    now = now or timezone.now()
    found = [crypto.decrypt(endpoint.secret_encrypted)]
    expires = endpoint.previous_secret_expires_at
    if endpoint.previous_secret_encrypted and expires and expires > now:
        # Skipped when unreadable: the rotation may have been made for that very reason.
        with contextlib.suppress(crypto.TokenKeyError):
            found.append(crypto.decrypt(endpoint.previous_secret_encrypted))
    return found


# --- writing deliveries ------------------------------------------------------------------


def message_body(*, event_type: str, occurred_at: datetime, data: dict) -> str:
    """The JSON body, exactly as it is signed and sent on every attempt."""
    payload = {"type": event_type, "timestamp": occurred_at.isoformat(), "data": data}
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False)


def endpoints_wanting(*, owners: Q, event_type: str) -> list[WebhookEndpoint]:
    """The active endpoints of ``owners`` subscribed to ``event_type``."""
    return [
        endpoint
        for endpoint in WebhookEndpoint.objects.filter(owners, is_active=True)
        if event_type in endpoint.events
    ]


def deliveries_add(
    *,
    owners: Q,
    event_type: str,
    data: Callable[[], dict],
    occurred_at: datetime,
    order_key: str,
) -> list[WebhookDelivery]:
    """One delivery per active endpoint of ``owners`` subscribed to ``event_type``.

    Call inside the transaction of the change; tasks are queued once it commits.
    ``data()`` is only called when some endpoint wants the event.
    """
    endpoints = endpoints_wanting(owners=owners, event_type=event_type)
    if not endpoints:
        return []
    body = message_body(event_type=event_type, occurred_at=occurred_at, data=data())
    return _deliveries_write(
        endpoints=endpoints, event_type=event_type, body=body, order_key=order_key
    )


def _deliveries_write(
    *, endpoints: list[WebhookEndpoint], event_type: str, body: str, order_key: str
) -> list[WebhookDelivery]:
    now = timezone.now()
    rows = [
        WebhookDelivery.objects.create(
            endpoint=endpoint,
            event_type=event_type,
            body=body,
            order_key=order_key,
            retry_until=now + timedelta(seconds=settings.WEBHOOK_RETRY_WINDOW),
            queued_at=now,
        )
        for endpoint in endpoints
    ]
    dispatch.task_send_on_commit(WEBHOOK_TASK, args_list=[[row.pk] for row in rows])
    return rows


def endpoint_send_test(*, endpoint: WebhookEndpoint) -> WebhookDelivery:
    """Queue a ``webhook.test`` event for ``endpoint`` (delivered like any other)."""
    now = timezone.now()
    data = {
        "endpoint_id": endpoint.pk,
        "message": "This is a test event from ScheduleOnce.",
    }
    body = message_body(event_type=TEST_EVENT, occurred_at=now, data=data)
    with transaction.atomic():
        [row] = _deliveries_write(
            endpoints=[endpoint],
            event_type=TEST_EVENT,
            body=body,
            order_key=f"test:{endpoint.pk}:{time.time_ns()}",
        )
    return row


def delivery_resend(*, delivery: WebhookDelivery) -> bool:
    """Send a settled delivery again, with the same ``webhook-id`` and body; False if it
    is still pending (it is being delivered anyway)."""
    now = timezone.now()
    with transaction.atomic():
        resent = (
            WebhookDelivery.objects.filter(pk=delivery.pk)
            .exclude(state=DeliveryState.PENDING)
            .update(
                state=DeliveryState.PENDING,
                attempts=0,
                next_attempt_at=None,
                retry_until=now + timedelta(seconds=settings.WEBHOOK_RETRY_WINDOW),
                queued_at=now,
                last_error="",
                updated_at=now,
            )
        )
        if resent:
            dispatch.task_send_on_commit(WEBHOOK_TASK, args_list=[[delivery.pk]])
    return bool(resent)


# --- delivering ------------------------------------------------------------------------------


def delivery_deliver(*, delivery_id: int, now: datetime | None = None) -> Outcome:
    """One attempt at delivery ``delivery_id``. Never called inside a web request; safe to
    run twice (the claim decides who attempts)."""
    now = now or timezone.now()
    delivery = WebhookDelivery.objects.filter(pk=delivery_id).first()
    if delivery is None or delivery.state != DeliveryState.PENDING:
        return Outcome(Status.SKIPPED)
    if _earlier_pending(delivery).exists():
        # Its predecessor wakes it when settled; the sweeper looks again meanwhile.
        WebhookDelivery.objects.filter(pk=delivery.pk, state=DeliveryState.PENDING).update(
            queued_at=now
        )
        return Outcome(Status.WAITING)
    claim = claim_take(
        items=WebhookDelivery.objects.select_related("endpoint"),
        pk=delivery_id,
        lease_seconds=settings.WEBHOOK_LEASE,
        now=now,
    )
    if claim is None:
        return Outcome(Status.SKIPPED)
    try:
        return _attempt(claim)
    except LostClaim:
        logger.warning("%s: lost its claim to another worker; stopping", _describe(claim.item))
        return Outcome(Status.LOST)


def _earlier_pending(delivery: WebhookDelivery):
    return WebhookDelivery.objects.filter(
        endpoint_id=delivery.endpoint_id,
        order_key=delivery.order_key,
        state=DeliveryState.PENDING,
        pk__lt=delivery.pk,
    )


def _attempt(claim: Claim) -> Outcome:
    delivery: WebhookDelivery = claim.item
    endpoint = delivery.endpoint
    if not endpoint.is_active:
        return _give_up(claim, _("the endpoint is disabled"))
    try:
        target = target_check(endpoint.url)
    except UnsafeTarget as refused:
        _endpoint_failed(endpoint)
        return _give_up(claim, refused.message)
    try:
        secrets_ = endpoint_secrets(endpoint=endpoint)
    except crypto.TokenKeyError:  # an operator removed the key: rotating the secret heals it
        return _give_up(claim, _("the signing secret cannot be read; rotate it"))
    timestamp = int(time.time())
    answer = post(
        target=target,
        headers=signing.headers(
            secrets_=secrets_,
            message_id=delivery.message_id,
            timestamp=timestamp,
            body=delivery.body,
        ),
        body=delivery.body.encode(),
        timeout=settings.WEBHOOK_TIMEOUT,
        max_bytes=settings.WEBHOOK_RESPONSE_MAX_BYTES,
    )
    claim.save(
        response_status=answer.status,
        response_ms=answer.elapsed_ms,
        response_excerpt=answer.excerpt,
    )
    if answer.status is not None and 200 <= answer.status < 300:
        return _delivered(claim)
    if _endpoint_failed(endpoint):
        return _give_up(claim, _("the endpoint is disabled"))
    return _failed_attempt(claim, answer)


def _delivered(claim: Claim) -> Outcome:
    delivery: WebhookDelivery = claim.item
    WebhookEndpoint.objects.filter(pk=delivery.endpoint_id, failing_since__isnull=False).update(
        failing_since=None
    )
    if claim.settle(
        state=DeliveryState.DELIVERED,
        delivered_at=timezone.now(),
        next_attempt_at=None,
        last_error="",
    ):
        logger.info("%s: delivered (attempt %s)", _describe(delivery), delivery.attempts)
        _wake_next(delivery)
    return Outcome(Status.SYNCED)


def _failed_attempt(claim: Claim, answer: Answer) -> Outcome:
    delivery: WebhookDelivery = claim.item
    what = f"HTTP {answer.status}" if answer.status is not None else answer.error
    retried = answer.status is None or answer.status >= 500 or answer.status in RETRIED_STATUSES
    if not retried:
        return _give_up(claim, _("%(what)s: not retried") % {"what": what})
    delay = retry_delay(
        attempt=delivery.attempts,
        base=settings.WEBHOOK_RETRY_BASE,
        cap=settings.WEBHOOK_RETRY_CAP,
        retry_after=answer.retry_after,
    )
    if timezone.now() + timedelta(seconds=delay) > delivery.retry_until:
        return _give_up(
            claim,
            _("%(what)s: gave up after %(count)s attempts")
            % {"what": what, "count": delivery.attempts},
        )
    logger.warning(
        "%s: attempt %s failed (%s); again in %.0fs",
        _describe(delivery),
        delivery.attempts,
        what,
        delay,
    )
    claim.retry_later(delay=delay, error=what)
    return Outcome(Status.RETRY, retry_in=delay)


def _give_up(claim: Claim, error: str) -> Outcome:
    delivery: WebhookDelivery = claim.item
    if claim.settle(state=DeliveryState.FAILED, next_attempt_at=None, last_error=error[:500]):
        logger.warning("%s: failed (%s)", _describe(delivery), error)
        _wake_next(delivery)
    return Outcome(Status.FAILED)


def _wake_next(delivery: WebhookDelivery) -> None:
    """Queue the delivery waiting behind ``delivery`` (same endpoint and order key)."""
    following = (
        WebhookDelivery.objects.filter(
            endpoint_id=delivery.endpoint_id,
            order_key=delivery.order_key,
            state=DeliveryState.PENDING,
            pk__gt=delivery.pk,
        )
        .order_by("pk")
        .values_list("pk", flat=True)
        .first()
    )
    if following is not None:
        dispatch.task_send(WEBHOOK_TASK, args=[following])


def _endpoint_failed(endpoint: WebhookEndpoint) -> bool:
    """Note a failure; disable the endpoint once it has failed for WEBHOOK_DISABLE_AFTER
    (True when this call disabled it)."""
    now = timezone.now()
    endpoints = WebhookEndpoint.objects.filter(pk=endpoint.pk)
    endpoints.filter(failing_since__isnull=True).update(failing_since=now)
    cutoff = now - timedelta(seconds=settings.WEBHOOK_DISABLE_AFTER)
    reason = _disabled_reason()
    if endpoints.filter(is_active=True, failing_since__lte=cutoff).update(
        is_active=False, disabled_at=now, disabled_reason=reason, updated_at=now
    ):
        WebhookDelivery.objects.filter(endpoint_id=endpoint.pk, state=DeliveryState.PENDING).filter(
            is_unclaimed(now=now)
        ).update(state=DeliveryState.FAILED, last_error=_("the endpoint is disabled"))
        logger.warning("webhook endpoint %s: disabled after failing since %s", endpoint.pk, cutoff)
        _email_disabled(endpoint=endpoint)
        return True
    return False


def _disabled_reason() -> str:
    days = round(settings.WEBHOOK_DISABLE_AFTER / 86400, 1)
    return _("Every delivery failed for %(days)s days.") % {"days": days}


def _email_disabled(*, endpoint: WebhookEndpoint) -> None:
    owner = endpoint.owner
    link = settings.SITE_URL + reverse("integrations:webhooks")
    with translation.override(getattr(owner, "language", "") or settings.LANGUAGE_CODE):
        reason = _disabled_reason()
        subject = _("Your webhook endpoint was turned off")
        text = _(
            "Hello,\n\nScheduleOnce turned off your webhook endpoint %(url)s. %(reason)s\n\n"
            "Check the receiver, then switch the endpoint on again and resend what it missed:"
            "\n%(link)s\n"
        ) % {"url": endpoint.url, "reason": reason, "link": link}
    try:
        send_mail(subject, text, None, [owner.email])
    except Exception as error:  # the endpoint is off either way; the page says so
        logger.error("webhook endpoint %s: email to its owner failed (%s)", endpoint.pk, error)


def _describe(delivery: WebhookDelivery) -> str:
    return (
        f"webhook delivery={delivery.pk} endpoint={delivery.endpoint_id} "
        f"type={delivery.event_type} id={delivery.message_id}"
    )


def deliveries_sweep(now: datetime) -> list[int]:
    """Re-queue deliveries whose task was lost (registered with the outbox sweeper)."""
    ids = items_requeue(
        items=WebhookDelivery.objects.all(),
        task=WEBHOOK_TASK,
        now=now,
        requeue_after=settings.OUTBOX_REQUEUE_AFTER,
    )
    if ids:
        logger.info("sweep webhook deliveries: re-queued %d row(s): %s", len(ids), ids[:20])
    return ids
