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
first, in the order asked, then the others, except the items that lead
(``bundle_lead``: a booking's calendar push, so that its confirmation email can carry
the Teams meeting's join link it answers with): they run before the ``first`` ones,
but only within a few seconds of the bundle's start (their calls to Graph end by
then: ``ops.deadline``; those not started by then run after the ``first`` ones). A
calendar push that waits on a slow Graph (up to its 30-second read timeout, and
throttling waits) thus holds up the confirmation email at most that long.
Only tasks that opted in (``bundle_allow``: plain outbox tasks that take one id) are
bundled, and only within time limits that keep each item's lease: the bundle gets
the smallest time limits of its items, and an item starts inline only within
``BUNDLE_INLINE_WINDOW`` seconds of the bundle's start; the rest are sent as their
own tasks. What an item asks for once it committed (a join-link email after a push)
joins the bundle being run instead of going through the broker.

Under load several transactions' bundles may wait for the publisher thread at once
(it sends one at a time): it then sends them as *one* bundle (at most
``BUNDLE_MAX_JOBS`` transactions' items), since every message costs the worker the
same handling whatever it carries (Redis round trips, the pool's IPC, the database
connection's check, the mail server's connection). While it is busy (its last send
less than ``BUNDLE_LINGER_AFTER`` seconds ago) it waits up to ``BUNDLE_LINGER``
seconds for company before sending, when what it holds may share a bundle (a
debounced sync or any task that never shares goes at once); when idle it sends at
once (``publisher_drain`` ends the wait). Each item still claims its own row, so an
item runs once however its message was made up; each carries its transaction's
request id into the logs (``[name, args, request_id]`` when the bundle mixes requests).

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
from ops.deadline import deadline_at
from ops.logging import log_context_bound, request_id

logger = logging.getLogger(__name__)

# Off only in tests that check *what* is queued on commit, synchronously.
PUBLISH_IN_BACKGROUND = True
# How long a process about to exit waits for its queued sends (the sweeper covers the rest).
EXIT_DRAIN_SECONDS = 3.0
BUNDLE_TASK = "outbox.tasks.run_bundle"
# A bundle's items after the first start inline only this soon after the bundle began;
# later ones go to the broker as their own tasks, each with its full time limits.
BUNDLE_INLINE_WINDOW = 5.0
# At most this many transactions' items share one bundle when several wait to be sent
# (their items then run one after the other, within BUNDLE_INLINE_WINDOW, in one
# worker process rather than side by side in several).
BUNDLE_MAX_JOBS = 8
# Under load (the publisher sent something less than BUNDLE_LINGER_AFTER seconds ago) it
# waits up to BUNDLE_LINGER seconds for more transactions before sending: the emails and
# pushes leave that much later, and the worker handles one message for several bookings.
BUNDLE_LINGER = 0.2
BUNDLE_LINGER_AFTER = 1.0
# Tasks that may travel in a bundle (``bundle_allow``), and those among them that go first.
_BUNDLED: set[str] = set()
_FIRST: set[str] = set()
# Tasks whose items run ahead of the ``first`` ones (``bundle_lead``): for how long at most.
_LEAD: dict[str, float] = {}
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


def bundle_lead(name: str, *, within: float) -> None:
    """Run the task ``name``'s bundle items (it must be ``bundle_allow``-ed) before the
    ``first`` ones, for at most ``within`` seconds from the bundle's start: their calls to
    other services end by then (``ops.deadline``: a call cut short fails as a timeout and
    its item retries on its own), and those not started by then run after the ``first``
    ones. A booking's push leads its confirmation emails this way, so they can carry the
    join link it answers with while waiting at most ``within`` seconds for it."""
    _LEAD[name] = within


def bundle_around(make: Callable[[], AbstractContextManager]) -> None:
    """Run every bundle inside ``make()``: what its items may share while it runs (one
    connection to the mail server for a booking's emails), let go once its last item ran.
    Items run on their own (not in a bundle) share nothing."""
    if make not in _AROUND:
        _AROUND.append(make)


# The longest countdown a task is queued with. Redis hands a message that a worker has
# held unacknowledged for its visibility timeout (settings.REDIS_VISIBILITY_TIMEOUT, an
# hour) to another worker, and a task waiting for its countdown is held so: it would run
# twice. A retry further away is left to the outbox's sweeper (or beat), which queues it
# once it is due. A provider's Retry-After can ask for an hour (MSAL's own bound).
MAX_COUNTDOWN = 3000


def countdown_held(countdown: float | None) -> bool:
    """Whether the broker may hold a task for ``countdown`` seconds (``MAX_COUNTDOWN``)."""
    return countdown is None or countdown <= MAX_COUNTDOWN


def task_send(
    name: str, *, args: list, countdown: float | None = None, options: dict | None = None
) -> bool:
    """Queue task ``name`` with ``args`` (after ``countdown`` seconds, with Celery's
    ``options`` such as time limits); False if refused."""
    if current_app.conf.task_always_eager and name in current_app.tasks:
        current_app.tasks[name].apply(args=args)
        return True
    try:
        current_app.send_task(
            name,
            args=args,
            countdown=countdown,
            argsrepr=_args_repr(args),
            kwargsrepr="{}",
            **(options or {}),
        )
    except Exception as error:  # the broker is down: the sweeper catches up later
        logger.warning(
            "Could not queue %s%s (%s); the sweeper picks it up later",
            name,
            args,
            type(error).__name__,
        )
        return False
    return True


# What Celery's messages show of a task's arguments (``argsrepr``) is cut at this length.
ARGS_REPR_LIMIT = 1024


def _args_repr(args: list) -> str:
    """The message's ``argsrepr`` (what logs and monitors show of the arguments): the
    built-in ``repr``, cut to ``ARGS_REPR_LIMIT``. Celery's own (``saferepr``: Python
    walking the arguments item by item, at about a sixth of the publisher's calls per
    message) gives the same text for the ids and names a task takes, but "[...]" for a
    bundle's items nested deeper than three lists."""
    text = repr(args)
    return text if len(text) <= ARGS_REPR_LIMIT else text[: ARGS_REPR_LIMIT - 3] + "..."


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


# The items of the bundle this thread is running, as its message carried them.
_sent_items: contextvars.ContextVar[tuple[list, ...]] = contextvars.ContextVar(
    "outbox_bundle_items", default=()
)


def bundle_items(name: str) -> list[list]:
    """The arguments of task ``name``'s items in the bundle this thread is running, in
    their order (run, running or still waiting); empty outside a bundle. An item may do
    its companions' work with its own (one call slot for a calendar's pushes): they still
    run, and find their work done."""
    return [args for args, _ in bundle_items_asked(name)]


def bundle_items_asked(name: str) -> list[tuple[list, str | None]]:
    """``bundle_items`` with the id of the request that asked for each (None where the
    bundle's own request did: a bundle of one request's items names none), so work done
    for a companion can be logged under its own request."""
    return [
        (list(item[1]), item[2] if len(item) > 2 else None)
        for item in _sent_items.get()
        if item[0] == name
    ]


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
        asker = request_id()
        running.extend((name, args, asker) for name, args in later if name in _BUNDLED)
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


_Job = tuple[list[tuple[str, list]], float | None, contextvars.Context]


def _send_jobs(jobs: list[_Job]) -> None:
    """Send what the transactions ``jobs`` asked for: one message for all the items that
    may share one (in the order asked, the ``first`` ones before the others), each of the
    others its own, sent in its transaction's context (its log request id)."""
    together: list[tuple[str, list, contextvars.Context]] = []
    alone: list[tuple[str, list, float | None, contextvars.Context]] = []
    for items, countdown, context in jobs:
        for name, args in items:
            if countdown is None and name in _BUNDLED:
                together.append((name, args, context))
            else:
                alone.append((name, args, countdown, context))
    together.sort(key=lambda item: _rank(item[0]))  # stable: else in the order asked
    limits = _bundle_limits([name for name, _, _ in together])
    if len(together) < 2 or limits is None:
        alone = [(name, args, None, context) for name, args, context in together] + alone
    else:
        askers = [context.run(request_id) for _, _, context in together]
        if len(set(askers)) == 1:
            items = [[name, args] for name, args, _ in together]
        else:  # several requests' items: each names its own
            items = [[n, a, asker] for (n, a, _), asker in zip(together, askers, strict=True)]
        together[0][2].run(task_send, BUNDLE_TASK, args=[items], options=limits)
    for name, args, countdown, context in alone:
        context.run(_send, name, args, countdown)


def _rank(name: str) -> int:
    """A bundle item's place: those that lead, then the ``first`` ones, then the rest."""
    return 0 if name in _LEAD else 1 if name in _FIRST else 2


def _may_share(job: _Job) -> bool:
    """Whether waiting for company could put ``job`` in a bundle: it has an item that may
    share one, sent at once. A countdown (a debounced sync) or a task that never shares
    (a sync) is sent without the wait: it would only arrive later."""
    items, countdown, _ = job
    return countdown is None and any(name in _BUNDLED for name, _ in items)


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
    waiting: deque = deque(_item(*item) for item in items)
    token = _running.set(waiting)
    sent = _sent_items.set(tuple(items))
    try:
        with ExitStack() as shared:
            for make in _AROUND:
                shared.enter_context(make())
            ran, stopped = _run_leads(
                waiting, started=started, time_limit=time_limit, request=request
            )
            if not stopped:
                ran = _run_items(
                    waiting, started=started, time_limit=time_limit, request=request, ran=ran
                )
    finally:
        _running.reset(token)
        _sent_items.reset(sent)
    for name, args, asker in waiting:
        _send_as(asker, name, args)
    return ran


def _item(name: str, args: list, asker: str | None = None) -> tuple[str, list, str | None]:
    """A bundle item as run here: its task, its arguments and, when the bundle mixes
    requests, the id of the request that asked for it (else the bundle's own)."""
    return name, list(args), asker


def _send_as(asker: str | None, name: str, args: list) -> None:
    """Send ``name`` on its own, carrying ``asker``'s request id when it has one."""
    if asker:
        with log_context_bound(request_id=asker):
            task_send(name, args=args)
    else:
        task_send(name, args=args)


def _run_items(
    waiting: deque, *, started: float, time_limit: float | None, request, ran: int = 0
) -> int:
    """``bundle_run``'s loop: the items ``waiting`` (and what joins them), until done, the
    inline window passed or the soft limit struck; how many ran (``ran`` before it)."""
    from celery.exceptions import SoftTimeLimitExceeded

    while waiting:
        if ran and time.monotonic() - started > BUNDLE_INLINE_WINDOW:
            break
        item = waiting.popleft()
        try:
            ran += _run_one(item, time_limit=time_limit, request=request, number=ran)
        except SoftTimeLimitExceeded:
            break
    return ran


def _run_leads(
    waiting: deque, *, started: float, time_limit: float | None, request
) -> tuple[int, bool]:
    """Run the items ``waiting`` that lead (``bundle_lead``), when ``first`` ones wait behind
    them, within their bound: their calls end by then; those not started by then are put
    after the ``first`` ones. How many ran, and whether the soft time limit struck."""
    from celery.exceptions import SoftTimeLimitExceeded

    leads = [item for item in waiting if item[0] in _LEAD]
    if not leads or not any(item[0] in _FIRST for item in waiting):
        return 0, False
    for item in leads:
        waiting.remove(item)
    bound = started + min(_LEAD[name] for name, _, _ in leads)
    ran, stopped = 0, False
    with deadline_at(bound):
        while leads and time.monotonic() < bound:
            try:
                ran += _run_one(leads.pop(0), time_limit=time_limit, request=request, number=ran)
            except SoftTimeLimitExceeded:
                stopped = True
                break
    firsts = sum(1 for name, _, _ in waiting if name in _FIRST)
    for offset, item in enumerate(leads):  # not started: after the first ones
        waiting.insert(firsts + offset, item)
    return ran, stopped


def _run_one(item: tuple, *, time_limit: float | None, request, number: int) -> int:
    """Run one bundle item inline (1), or send it on its own when it cannot run here (0).
    A failing item is logged; the bundle's soft time limit is raised, after a log line."""
    from celery.exceptions import SoftTimeLimitExceeded

    name, args, asker = item
    task = current_app.tasks.get(name)
    if task is None or not _fits(task, time_limit):
        _send_as(asker, name, args)  # on its own, with its own limits
        return 0
    try:
        _run_item(task, args, request=request, number=number, asker=asker)
    except SoftTimeLimitExceeded:
        logger.warning("Bundle stopped by its time limit in %s%s", name, args)
        raise
    except Exception:
        logger.exception("Bundle item %s%s failed; the rest still run", name, args)
    return 1


def _run_item(task, args: list, *, request, number: int, asker: str | None = None):
    """Run one item as a task of its own would run, inside the bundle's process (its log
    lines naming ``asker``, the request that asked for it, if given; else the bundle's)."""
    from celery import signals

    bundle_id = getattr(request, "id", None) or "local"
    task_id = f"{bundle_id}.{number}"
    task.push_request(
        id=task_id,
        args=args,
        kwargs={},
        headers=getattr(request, "headers", None),
        request_id=asker or getattr(request, "request_id", None),
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

    def put(self, job: _Job) -> None:
        with self.lock:
            self.pending += 1
            self.idle.clear()
        self.queue.put(job)

    def _run(self) -> None:
        last_sent = -BUNDLE_LINGER_AFTER
        while True:
            job = self.queue.get()
            if job is None:  # a drain asked to stop waiting: nothing was waiting
                continue
            jobs = [job]
            busy = time.monotonic() - last_sent < BUNDLE_LINGER_AFTER
            wait = BUNDLE_LINGER if busy and _may_share(job) else 0.0
            until = time.monotonic() + wait
            while len(jobs) < BUNDLE_MAX_JOBS:  # the others waiting (or soon) join it
                try:
                    job = self.queue.get(timeout=max(0.0, until - time.monotonic()))
                except queue.Empty:
                    break
                if job is None:  # publisher_drain: send what is here now
                    until = 0.0
                else:
                    jobs.append(job)
            try:
                _send_jobs(jobs)
            except Exception:  # a bug: this thread must go on (the sweeper covers the rows)
                logger.exception("Outbox publisher: sending %d job(s) failed", len(jobs))
            finally:
                last_sent = time.monotonic()
                with self.lock:
                    self.pending -= len(jobs)
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
    """Wait until every send asked for so far was tried (without waiting for company,
    ``BUNDLE_LINGER``); False if ``timeout`` passed first."""
    publisher = _state.get("publisher")
    if publisher is None or publisher.pid != os.getpid():
        return True
    if not publisher.idle.is_set():
        publisher.queue.put(None)
    return publisher.idle.wait(timeout)
