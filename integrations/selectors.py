"""Reads for Setup's integration pages."""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.utils import timezone

from integrations import scope
from integrations.models import ApiToken, WebhookDelivery, WebhookEndpoint
from integrations.scope import endpoints_managed_by

DELIVERIES_SHOWN = 50


def endpoints_for(*, user) -> QuerySet[WebhookEndpoint]:
    """The endpoints ``user`` manages: their own, and an admin's organization's."""
    return WebhookEndpoint.objects.filter(endpoints_managed_by(user=user)).select_related(
        "owner", "organization"
    )


def deliveries_for(*, endpoint: WebhookEndpoint) -> list[WebhookDelivery]:
    """The endpoint's latest deliveries, newest first."""
    return list(endpoint.deliveries.order_by("-pk")[:DELIVERIES_SHOWN])


def tokens_for(*, user) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(owner=user)


def tokens_managed_by(*, user) -> QuerySet[ApiToken]:
    """The tokens ``user`` may revoke: their own, and an admin's members'."""
    return ApiToken.objects.filter(scope.tokens_managed_by(user=user)).select_related("owner")


def members_tokens_for(*, user) -> QuerySet[ApiToken]:
    """For an admin: the live tokens (not revoked, not expired) of the other members of
    their organization."""
    live = Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now())
    return tokens_managed_by(user=user).exclude(owner=user).filter(live, revoked_at__isnull=True)
