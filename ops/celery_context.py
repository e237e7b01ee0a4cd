"""The log context across Celery: a task queued while handling a request (or another
task) carries that request id in its message headers, and the worker binds it, with the
task's name and id, while the task runs. Connected once per process (``OpsConfig.ready``).

Publishing may happen on another thread (``outbox.dispatch`` sends after commit from a
background thread): it runs the send inside a copy of the caller's context, so the
request id is still the one of the request that asked.
"""

from __future__ import annotations

from celery import signals

from ops.logging import log_context_clear, log_context_reset, log_context_set, request_id

HEADER = "request_id"
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


def connect() -> None:
    signals.before_task_publish.connect(_add_request_id, weak=False, dispatch_uid="ops-rid")
    signals.task_prerun.connect(_bind, weak=False, dispatch_uid="ops-bind")
    signals.task_postrun.connect(_unbind, weak=False, dispatch_uid="ops-unbind")
