"""Sending tasks to the Celery workers by name, without ever making the caller wait.

Outbox items are durable rows, so a task message is only a nudge: if it is lost,
or the broker cannot be reached, the sweeper queues the item again later. So:

- ``task_send`` sends now and never raises (a refused send is logged, False returned).
  For workers and beat, which may wait.
- ``task_send_on_commit`` sends once the caller's transaction commits (nothing for a
  rollback), from a background thread of this process: a web request that wrote an
  item answers at once even while the broker is down or slow, where a send would
  otherwise wait through the client's connection retries.

One transaction, one message: every outbox task a transaction asks for (a booking's
calendar push, its emails, its webhooks) goes to the broker as a single *bundle* when
it commits (``BUNDLE_TASK``), which a worker runs one item after the other, each
item exactly as its own task would run it: its own row, claim, retries and backoff.
Items a person waits for (``bundle_allow(..., first=True)``: the booking emails) run
first, in the order asked, then the others: a calendar push that waits on a slow
Graph (up to its 30-second read timeout, and throttling waits) never holds up the
confirmation email.
Only tasks that opted in (``bundle_allow``: plain outbox tasks that take one id) are
bundled, and only within time limits that keep each item's lease: the bundle gets
the smallest time limits of its items, and an item starts inline only within
``BUNDLE_INLINE_WINDOW`` seconds of the bundle's start; the rest are sent as their
own tasks. What an item asks for once it committed (a join-link email after a push)
joins the bundle being run instead of going through the broker.

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
import time
from collections import deque
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager, ExitStack

from celery import current_app
from django.db import transaction

from ops.celery_context import BUNDLE_ITEM

logger = logging.getLogger(__name__)

# Off only in tests that check *what* is queued on commit, synchronously.
PUBLISH_IN_BACKGROUND = True
# How long a process about to exit waits for its queued sends (the sweeper covers the rest).
EXIT_DRAIN_SECONDS = 3.0
BUNDLE_TASK = "outbox.tasks.run_bundle"
# A bundle's items after the first start inline only this soon after the bundle began;
# later ones go to the broker as their own tasks, each with its full time limits.
BUNDLE_INLINE_WINDOW = 5.0
# Tasks that may travel in a bundle (``bundle_allow``), and those among them that go first.
_BUNDLED: set[str] = set()
_FIRST: set[str] = set()
# What a bundle's items share while it runs (``bundle_around``): context managers' makers.
_AROUND: list[Callable[[], AbstractContextManager]] = []


def bundle_allow(*names: str, first: bool = False) -> None:
    """Let the tasks ``names`` travel in a transaction's bundle: outbox tasks whose one
    argument is their row's id, that retry by queueing themselves again (never with
    ``self.retry``), and that set ``time_limit`` below their lease. ``first``: they run
    before the bundle's other items (a person waits for them, such as a booking's
    confirmation email, and a slow call to another service must not hold them up)."""
    _BUNDLED.update(names)
    if first:
        _FIRST.update(names)


def bundle_around(make: Callable[[], AbstractContextManager]) -> None:
    """Run every bundle inside ``make()``: what its items may share while it runs (one
    connection to the mail server for a booking's emails), let go once its last item ran.
    Items run on their own (not in a bundle) share nothing."""
    if make not in _AROUND:
        _AROUND.append(make)


def task_send(
    name: str, *, args: list, countdown: float | None = None, options: dict | None = None
) -> bool:
    """Queue task ``name`` with ``args`` (after ``countdown`` seconds, with Celery's
    ``options`` such as time limits); False if refused."""
    if current_app.conf.task_always_eager and name in current_app.tasks:
        current_app.tasks[name].apply(args=args)
        return True
    try:
        current_app.send_task(name, args=args, countdown=countdown, **(options or {}))
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
    (to run ``countdown`` seconds after it was sent, if given). Without a countdown it
    joins the transaction's bundle: one message for everything the transaction asked."""
    items = [(name, list(args)) for args in args_list]
    if not items:
        return
    if countdown:
        transaction.on_commit(lambda: _publish_soon(items, countdown))
        return
    connection = transaction.get_connection()
    bundle = getattr(connection, "_outbox_bundle", None)
    if connection.in_atomic_block and bundle is not None and bundle.joinable(connection):
        bundle.items.extend(items)
        return
    bundle = _Bundle(items=items, savepoints=set(connection.savepoint_ids))
    connection._outbox_bundle = bundle
    transaction.on_commit(bundle.callback)


class _Bundle:
    """The items one transaction asked for, published together when it commits."""

    def __init__(self, *, items: list[tuple[str, list]], savepoints: set[str]) -> None:
        self.items = items
        self.savepoints = savepoints  # as registered: a rollback to any of them drops it
        self.closed = False
        self.callback = self._flush  # one object, found again in run_on_commit by identity

    def joinable(self, connection) -> bool:
        """Whether an item asked for now commits or rolls back exactly with this bundle:
        still waiting for the commit, and registered at this savepoint level or an
        outer one (so whatever rollback would drop the new item also drops the bundle)."""
        return (
            not self.closed
            and set(connection.savepoint_ids) <= self.savepoints
            and any(func is self.callback for _, func, *_ in connection.run_on_commit)
        )

    def _flush(self) -> None:
        self.closed = True
        _publish_soon(self.items)


# The bundle this thread is running (in a worker), which items asked for now join.
_running: contextvars.ContextVar[deque | None] = contextvars.ContextVar(
    "outbox_bundle_running", default=None
)


def _publish_soon(items: list[tuple[str, list]], countdown: float | None = None) -> None:
    later = []
    for name, args in items:
        if current_app.conf.task_always_eager and name in current_app.tasks:
            _send(name, args, countdown)  # tests that run tasks in-process: run it now
        else:
            later.append((name, args))
    if not later:
        return
    if not PUBLISH_IN_BACKGROUND:
        for name, args in later:
            _send(name, args, countdown)
        return
    running = _running.get()
    if running is not None and countdown is None:
        # A worker running a bundle: what may share it runs in it too.
        running.extend(item for item in later if item[0] in _BUNDLED)
        later = [item for item in later if item[0] not in _BUNDLED]
        if not later:
            return
    # Sent from the publisher thread, inside the asker's context (its log request id).
    _publisher().put((later, countdown, contextvars.copy_context()))


def _send(name: str, args: list, countdown: float | None) -> None:
    # Only pass a countdown when there is one: callers (and tests) may stand in for
    # ``task_send`` with a function that takes none.
    if countdown:
        task_send(name, args=args, countdown=countdown)
    else:
        task_send(name, args=args)


def _send_items(items: list[tuple[str, list]], countdown: float | None) -> None:
    """One message for the items that may share one, each of the others its own."""
    together = [(n, a) for n, a in items if n in _BUNDLED] if countdown is None else []
    together.sort(key=lambda item: item[0] not in _FIRST)  # stable: else in the order asked
    limits = _bundle_limits([name for name, _ in together])
    if len(together) < 2 or limits is None:
        together = []
    else:
        task_send(BUNDLE_TASK, args=[[[name, args] for name, args in together]], options=limits)
    for name, args in items:
        if (name, args) not in together:
            _send(name, args, countdown)


def _bundle_limits(names: list[str]) -> dict | None:
    """The smallest soft and hard time limits of the tasks ``names``; None if one of
    them is unknown here or has no hard limit (it cannot share a bundle's)."""
    tasks = [current_app.tasks.get(name) for name in names]
    if not tasks or any(task is None or not task.time_limit for task in tasks):
        return None
    hard = min(task.time_limit for task in tasks)
    soft = min((task.soft_time_limit or hard) for task in tasks)
    return {"soft_time_limit": min(soft, hard), "time_limit": hard}


def bundle_run(items: list[list], *, time_limit: float | None, request=None) -> int:
    """Run a bundle's items here, in order, as their own tasks would run; returns how many.

    Each runs through its task, so it claims, works, settles and queues its own retries;
    Celery's ``task_prerun``/``task_postrun`` are sent around it as for a task of its own
    (the log lines name the item's task and the request that asked for it, the database
    connection is looked at in between, its health check once for the bundle:
    ``ops.celery_context``). ``request``: the bundle's own Celery request.
    What the items ask for once committed (a join-link email) runs after them. An item
    starts inline only if the bundle began at most ``BUNDLE_INLINE_WINDOW`` seconds ago
    and its own hard limit is no shorter than the bundle's ``time_limit``; the others go
    to the broker as their own tasks. A failing item is logged and the rest still run;
    when the bundle's soft limit strikes, the rest are sent on. The items run inside
    what ``bundle_around`` asked for (shared while the bundle runs).
    """
    started = time.monotonic()
    waiting: deque = deque((name, list(args)) for name, args in items)
    token = _running.set(waiting)
    try:
        with ExitStack() as shared:
            for make in _AROUND:
                shared.enter_context(make())
            ran = _run_items(waiting, started=started, time_limit=time_limit, request=request)
    finally:
        _running.reset(token)
    for name, args in waiting:
        task_send(name, args=args)
    return ran


def _run_items(waiting: deque, *, started: float, time_limit: float | None, request) -> int:
    """``bundle_run``'s loop: the items ``waiting`` (and what joins them), until done, the
    inline window passed or the soft limit struck; how many ran."""
    from celery.exceptions import SoftTimeLimitExceeded

    ran = 0
    while waiting:
        if ran and time.monotonic() - started > BUNDLE_INLINE_WINDOW:
            break
        name, args = waiting.popleft()
        task = current_app.tasks.get(name)
        if task is None or not _fits(task, time_limit):
            task_send(name, args=args)  # on its own, with its own limits
            continue
        try:
            _run_item(task, args, request=request, number=ran)
        except SoftTimeLimitExceeded:
            logger.warning("Bundle stopped by its time limit in %s%s", name, args)
            break
        except Exception:
            logger.exception("Bundle item %s%s failed; the rest still run", name, args)
        ran += 1
    return ran


def _run_item(task, args: list, *, request, number: int):
    """Run one item as a task of its own would run, inside the bundle's process."""
    from celery import signals

    bundle_id = getattr(request, "id", None) or "local"
    task_id = f"{bundle_id}.{number}"
    task.push_request(
        id=task_id,
        args=args,
        kwargs={},
        headers=getattr(request, "headers", None),
        request_id=getattr(request, "request_id", None),
        hostname=getattr(request, "hostname", None),
        timelimit=getattr(request, "timelimit", None),
        is_eager=getattr(request, "is_eager", False),
        **{BUNDLE_ITEM: True},  # its database connection was looked at for the bundle
    )
    signals.task_prerun.send(sender=task, task_id=task_id, task=task, args=args, kwargs={})
    result = None
    try:
        result = task.run(*args)
    finally:
        signals.task_postrun.send(
            sender=task, task_id=task_id, task=task, args=args, kwargs={}, retval=result
        )
        task.pop_request()
    return result


def _fits(task, time_limit: float | None) -> bool:
    """Whether ``task`` may run inside a bundle stopped after ``time_limit`` seconds:
    never later than it would be stopped on its own (its lease stays safe)."""
    if not task.time_limit:
        return True
    return time_limit is not None and time_limit <= task.time_limit


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

    def put(self, job: tuple[list[tuple[str, list]], float | None, contextvars.Context]) -> None:
        with self.lock:
            self.pending += 1
            self.idle.clear()
        self.queue.put(job)

    def _run(self) -> None:
        while True:
            items, countdown, context = self.queue.get()
            try:
                context.run(_send_items, items, countdown)
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
