"""Which directory an authority path names: ``common``, ``organizations``, a tenant id or domain."""

from __future__ import annotations

import uuid

from django.db.models import QuerySet

from graph_sandbox.identity.errors import IdentityError
from graph_sandbox.models import Mailbox, MailboxKind, Tenant

MULTI_TENANT = frozenset({"common", "organizations"})


def tenant_for_segment(segment: str) -> Tenant | None:
    """The tenant an authority names, or None for ``common``/``organizations``; 90002 else."""
    if segment.lower() in MULTI_TENANT:
        return None
    try:
        tenant = Tenant.objects.filter(tenant_id=uuid.UUID(segment)).first()
    except ValueError:
        tenant = Tenant.objects.filter(domain__iexact=segment).first()
    if tenant is None:
        raise IdentityError(90002, tenant=segment)
    return tenant


def users_for_sign_in(segment: str) -> QuerySet[Mailbox]:
    """The mailboxes that can sign in through this authority (rooms never can)."""
    users = Mailbox.objects.filter(kind=MailboxKind.USER).select_related("tenant")
    tenant = tenant_for_segment(segment)
    return users.filter(tenant=tenant) if tenant else users
