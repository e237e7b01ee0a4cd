"""A gunicorn config that profiles each worker (``bench.http --profile-web DIR``).

Every worker runs cProfile, timed in CPU time of the thread (``time.thread_time``: a
request waiting on PostgreSQL or a lock costs nothing there), on its main thread and on
each thread it starts (the outbox publisher), from fork to exit. The main thread's
requests are profiled apart by kind (``POST``, ``healthz``, ``other``; gunicorn's
``pre_request``/``post_request`` hooks), the rest of its time (accepting, reading and
parsing requests, gunicorn's loop) as ``main``. One pstats file per profile goes into
``$WEB_PROFILE_DIR`` when the worker exits (gunicorn stops workers gracefully on
SIGTERM); ``python -m bench.gunicorn_profile DIR`` prints them, with the number of
requests of each kind.

The profiler's own cost inflates every figure (about three to four times with this
clock): compare functions within one profile, and take CPU per request from a run
without it. A thread's blocking wait may still be charged to the call it blocks in
(the publisher's ``SimpleQueue.get``); /proc/<pid>/task/<tid>/stat says how much CPU
each thread really used.
"""

from __future__ import annotations

import cProfile
import os
import sys
import threading
import time
from pathlib import Path

_PROFILES: list[tuple[str, cProfile.Profile]] = []
_BY_KIND: dict[str, cProfile.Profile] = {}
_COUNTS: dict[str, int] = {}


def _profile(name: str) -> cProfile.Profile:
    profile = cProfile.Profile(time.thread_time)
    _PROFILES.append((name, profile))
    return profile


def _kind(req) -> str:
    if req.method == "POST":
        return "POST"
    return "healthz" if req.path == "/healthz" else "other"


def pre_request(worker, req) -> None:
    kind = _kind(req)
    _COUNTS[kind] = _COUNTS.get(kind, 0) + 1
    if kind not in _BY_KIND:
        _BY_KIND[kind] = _profile(kind)
    _BY_KIND["main"].disable()
    _BY_KIND[kind].enable()


def post_request(worker, req, environ, resp) -> None:
    _BY_KIND[_kind(req)].disable()
    _BY_KIND["main"].enable()


def post_fork(server, worker) -> None:
    main = _BY_KIND["main"] = _profile("main")
    original_run = threading.Thread.run

    def profiled_run(self) -> None:
        profile = _profile(self.name)
        _PROFILES.append((self.name, profile))
        profile.enable()
        try:
            original_run(self)
        finally:
            profile.disable()

    threading.Thread.run = profiled_run
    main.enable()


def worker_exit(server, worker) -> None:
    directory = os.environ["WEB_PROFILE_DIR"]
    for name, profile in _PROFILES:
        profile.disable()
        profile.dump_stats(os.path.join(directory, f"{os.getpid()}-{name}.pstats"))
    with open(os.path.join(directory, f"{os.getpid()}.counts"), "w") as out:
        out.write("".join(f"{kind} {count}\n" for kind, count in _COUNTS.items()))


def report(directory: str, limit: int = 45) -> None:
    import glob
    import pstats

    counts: dict[str, int] = {}
    for file in glob.glob(os.path.join(directory, "*.counts")):
        for line in Path(file).read_text().split("\n"):
            if line:
                kind, count = line.split()
                counts[kind] = counts.get(kind, 0) + int(count)
    print("requests:", counts)
    for kind in ("POST", "healthz", "other", "main", "outbox-publisher"):
        files = sorted(glob.glob(os.path.join(directory, f"*-{kind}.pstats")))
        if not files:
            continue
        stats = pstats.Stats(*files)
        print(f"===== {kind}: {len(files)} file(s), {stats.total_tt:.3f} s CPU")
        stats.sort_stats("cumulative").print_stats(limit)
        stats.sort_stats("tottime").print_stats(limit)


if __name__ == "__main__":
    report(sys.argv[1], *(int(a) for a in sys.argv[2:3]))
