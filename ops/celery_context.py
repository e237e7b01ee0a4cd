"""The log context across Celery: a task queued while handling a request (or another
task) carries that request id in its message headers, and the worker binds it, with the
task's name and id, while the task runs. Connected once per process (``OpsConfig.ready``),
with the folding of ended processes' metric files whenever a Celery pool process starts.

Database connections last across tasks as they last across requests: Django's
``close_old_connections`` runs before and after each task (not for tasks run eagerly, in
the caller's own transaction), so ``CONN_MAX_AGE`` and ``CONN_HEALTH_CHECKS`` decide when
one is replaced (see ``CELERY_DB_REUSE_MAX`` in settings).

Publishing may happen on another thread (``outbox.dispatch`` sends after commit from a
background thread): it runs the send inside a copy of the caller's context, so the
request id is still the one of the request that asked.
"""

from __future__ import annotations

import logging

from celery import signals
from django.db import close_old_connections, connections

from ops.logging import log_context_clear, log_context_reset, log_context_set, request_id

logger = logging.getLogger(__name__)

HEADER = "request_id"
# Set on the Celery request of an item run inside a bundle (``outbox.dispatch``).
BUNDLE_ITEM = "bundle_item"
_tokens: dict[str, object] = {}


def _add_request_id(headers: dict | None = None, **_kwargs) -> None:
    current = request_id()
    if current and headers is not None and not headers.get(HEADER):
        headers[HEADER] = current


def _bind(task_id: str | None = None, task=None, **_kwargs) -> None:
    request = getattr(task, "request", None)
    given = getattr(request, HEADER, None) or (getattr(request, "headers", None) or {}).get(HEADER)
    token = log_context_set(request_id=given, task=getattr(task, "name", None), task_id=task_id)
    if task_id:
        _tokens[task_id] = token


def _unbind(task_id: str | None = None, **_kwargs) -> None:
    token = _tokens.pop(task_id or "", None)
    if token is not None:
        try:
            log_context_reset(token)
        except ValueError:  # bound in another context: forget it here
            log_context_clear()


def _close_old_connections(task=None, **_kwargs) -> None:
    request = getattr(task, "request", None)
    if getattr(request, "is_eager", False):
        return
    if getattr(request, BUNDLE_ITEM, False):
        _close_broken_connections()
    else:
        close_old_connections()


def _close_broken_connections() -> None:
    """Between the items of a bundle (``outbox.dispatch``): ``close_old_connections``
    without asking the database again whether it is there.

    Django's health check (``CONN_HEALTH_CHECKS``: a ``SELECT 1`` before the first query
    after each ``close_old_connections``) runs once for the bundle, as for any task. A
    connection an item left broken (an error other than a data or integrity error, as
    after a database restart), in a transaction, or past ``CONN_MAX_AGE`` is still
    closed or checked here, so the next item opens a new one.
    """
    for connection in connections.all(initialized_only=True):
        checked = connection.health_check_done
        connection.close_if_unusable_or_obsolete()
        if connection.connection is not None and checked:
            connection.health_check_done = True


def _fold_ended_processes(**_kwargs) -> None:
    """A new pool process often replaces one that ended: fold the ended ones' counters
    (``ops.metrics_store``), so a worker machine's metrics directory stays small."""
    from ops.metrics_store import dead_processes_fold

    try:
        dead_processes_fold()
    except OSError as error:  # never keep a worker from starting over the metrics
        logger.warning("metrics: could not fold ended processes' counters (%s)", error)


def connect() -> None:
    signals.worker_process_init.connect(_fold_ended_processes, weak=False, dispatch_uid="ops-fold")
    signals.before_task_publish.connect(_add_request_id, weak=False, dispatch_uid="ops-rid")
    signals.task_prerun.connect(_bind, weak=False, dispatch_uid="ops-bind")
    signals.task_postrun.connect(_unbind, weak=False, dispatch_uid="ops-unbind")
    for signal, uid in ((signals.task_prerun, "ops-db-pre"), (signals.task_postrun, "ops-db-post")):
        signal.connect(_close_old_connections, weak=False, dispatch_uid=uid)
