"""The per-host lock that serializes a host's booking and page writes."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import router

from ops.compiled_queries import query_rows


def _host_row_locked(host_id: int):
    # One row by its key: no ORDER BY (the model orders users by email), no LIMIT.
    return (
        get_user_model().objects.select_for_update().filter(pk=host_id).order_by().values_list("pk")
    )


def host_lock(host_id: int) -> None:
    """Lock the host's row until the caller's transaction ends (PostgreSQL: ``SELECT … FOR
    UPDATE``; SQLite's IMMEDIATE transactions serialize writers anyway)."""
    query_rows(_host_row_locked, host_id, using=router.db_for_write(get_user_model()))
