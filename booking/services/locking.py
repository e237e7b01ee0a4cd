"""The per-host lock that serializes a host's booking and page writes."""

from __future__ import annotations

from django.contrib.auth import get_user_model


def host_lock(host_id: int) -> None:
    """Lock the host's row until the caller's transaction ends (PostgreSQL: ``SELECT … FOR
    UPDATE``; SQLite's IMMEDIATE transactions serialize writers anyway)."""
    # One row by its key: no ORDER BY (the model orders users by email), no LIMIT.
    rows = get_user_model().objects.select_for_update().filter(pk=host_id).order_by()
    list(rows.values_list("pk"))
