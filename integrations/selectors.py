"""Reads for Setup's integration pages."""

from __future__ import annotations

from django.db.models import QuerySet

from integrations.models import ApiToken, WebhookDelivery, WebhookEndpoint

DELIVERIES_SHOWN = 50


def endpoints_for(*, user) -> QuerySet[WebhookEndpoint]:
    """The endpoints ``user`` manages (their own; an admin's organization's, later)."""
    return WebhookEndpoint.objects.filter(owner=user)


def deliveries_for(*, endpoint: WebhookEndpoint) -> list[WebhookDelivery]:
    """The endpoint's latest deliveries, newest first."""
    return list(endpoint.deliveries.order_by("-pk")[:DELIVERIES_SHOWN])


def tokens_for(*, user) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(owner=user)
