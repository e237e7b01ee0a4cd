"""Sending tasks to the Celery workers by name, without ever making the caller wait.

Outbox items are durable rows, so a task message is only a nudge: if it is lost,
or the broker cannot be reached, the sweeper queues the item again later. So:

- ``task_send`` sends now and never raises (a refused send is logged, False returned).
  For workers and beat, which may wait.
- ``task_send_on_commit`` sends once the caller's transaction commits (nothing for a
  rollback), from a background thread of this process: a web request that wrote an
  item answers at once even while the broker is down or slow, where a send would
  otherwise wait through the client's connection retries.

Tasks are named (not imported) so that services never import their own tasks.
Under Celery's ``task_always_eager`` (tests that run tasks in-process) a task this
process knows is run right here instead, in the caller's thread.
"""

from __future__ import annotations

import atexit
import contextvars
import logging
import os
import queue
import threading
from collections.abc import Iterable

from celery import current_app
from django.db import transaction

logger = logging.getLogger(__name__)

# Off only in tests that check *what* is queued on commit, synchronously.
PUBLISH_IN_BACKGROUND = True
# How long a process about to exit waits for its queued sends (the sweeper covers the rest).
EXIT_DRAIN_SECONDS = 3.0


def task_send(name: str, *, args: list, countdown: float | None = None) -> bool:
    """Queue task ``name`` with ``args`` (after ``countdown`` seconds); False if refused."""
    if current_app.conf.task_always_eager and name in current_app.tasks:
        current_app.tasks[name].apply(args=args)
        return True
    try:
        current_app.send_task(name, args=args, countdown=countdown)
    except Exception as error:  # the broker is down: the sweeper catches up later
        logger.warning(
            "Could not queue %s%s (%s); the sweeper picks it up later",
            name,
            args,
            type(error).__name__,
        )
        return False
    return True


def run_and_requeue(name: str, item_id: int, outcome, *, max_countdown: float | None = None) -> str:
    """What every outbox task does after its attempt: queue ``name`` for ``item_id`` again
    when the ``outcome`` asks (``retry_in``; beyond ``max_countdown`` seconds the sweeper
    does it instead) and return the status word as the task's result."""
    wait = outcome.retry_in
    if wait is not None and (max_countdown is None or wait <= max_countdown):
        task_send(name, args=[item_id], countdown=wait)
    return outcome.status


def lease_limits(lease: int) -> dict:
    """Celery options of an outbox task whose claim lasts ``lease`` seconds: acknowledged
    after it ran, given back when its worker dies, and stopped (softly at ½, hard at ¾)
    before the lease ends, so a hung attempt never overlaps the worker taking over."""
    return {
        "acks_late": True,
        "reject_on_worker_lost": True,
        "ignore_result": True,
        "soft_time_limit": lease // 2,
        "time_limit": lease * 3 // 4,
    }


def task_send_on_commit(
    name: str, *, args_list: Iterable[list], countdown: float | None = None
) -> None:
    """Queue ``name`` once per ``args`` when the current transaction commits, off-thread
    (to run ``countdown`` seconds after it was sent, if given)."""
    batch = [list(args) for args in args_list]
    if batch:
        transaction.on_commit(lambda: _publish_soon(name, batch, countdown))


def _publish_soon(name: str, batch: list[list], countdown: float | None = None) -> None:
    eager = current_app.conf.task_always_eager and name in current_app.tasks
    if eager or not PUBLISH_IN_BACKGROUND:
        for args in batch:
            _send(name, args, countdown)
        return
    # Sent from the publisher thread, inside the asker's context (its log request id).
    _publisher().put((name, batch, countdown, contextvars.copy_context()))


def _send(name: str, args: list, countdown: float | None) -> None:
    # Only pass a countdown when there is one: callers (and tests) may stand in for
    # ``task_send`` with a function that takes none.
    if countdown:
        task_send(name, args=args, countdown=countdown)
    else:
        task_send(name, args=args)


class _Publisher:
    """One daemon thread per process that sends what committed transactions asked for."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.queue: queue.SimpleQueue = queue.SimpleQueue()
        self.idle = threading.Event()
        self.idle.set()
        self.pending = 0
        self.lock = threading.Lock()
        threading.Thread(target=self._run, name="outbox-publisher", daemon=True).start()

    def put(self, job: tuple[str, list[list], float | None, contextvars.Context]) -> None:
        with self.lock:
            self.pending += 1
            self.idle.clear()
        self.queue.put(job)

    def _run(self) -> None:
        while True:
            name, batch, countdown, context = self.queue.get()
            try:
                for args in batch:
                    context.run(_send, name, args, countdown)
            finally:
                with self.lock:
                    self.pending -= 1
                    if not self.pending:
                        self.idle.set()


_state: dict[str, _Publisher] = {}
_state_lock = threading.Lock()


def _publisher() -> _Publisher:
    """This process's publisher (a forked child starts its own: threads do not survive fork)."""
    with _state_lock:
        publisher = _state.get("publisher")
        if publisher is None or publisher.pid != os.getpid():
            publisher = _state["publisher"] = _Publisher()
            # A short-lived process (a management command) sends what it asked for first.
            atexit.register(publisher_drain, EXIT_DRAIN_SECONDS)
        return publisher


def publisher_drain(timeout: float = 10.0) -> bool:
    """Wait until every send asked for so far was tried; False if ``timeout`` passed first."""
    publisher = _state.get("publisher")
    if publisher is None or publisher.pid != os.getpid():
        return True
    return publisher.idle.wait(timeout)
