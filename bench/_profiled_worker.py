"""`celery worker` with cProfile in its main process and in each pool process.

    python -m bench._profiled_worker OUT_DIR [celery worker arguments ...]

For ``bench.worker_cost --real-worker --profile-dir``: the main process is profiled from
the moment the worker says it is ready (its start-up left out) until it stops, into
``OUT_DIR/main.prof``; each prefork pool process from its start until it exits, into
``OUT_DIR/child-<pid>.prof`` (Celery's ``worker_process_shutdown``, sent in the child).
With ``PROFILE_SKIP_TASKS=N`` in the environment a pool process is profiled only from the
end of its N-th task on (what a warm process costs; a bundle's items count as tasks).
Times are CPU (``time.process_time``); profiled processes run slower: read call counts
and shares, not milliseconds.
"""

from __future__ import annotations

import cProfile
import os
import sys
import time


def main() -> None:
    out_dir, argv = sys.argv[1], sys.argv[2:]
    from celery import signals

    main_profile = cProfile.Profile(time.process_time)
    child: dict[str, cProfile.Profile] = {}

    def ready(**_kwargs) -> None:
        main_profile.enable()

    skip = int(os.environ.get("PROFILE_SKIP_TASKS", "0"))
    done = [0]

    def process_init(**_kwargs) -> None:
        profile = child["profile"] = cProfile.Profile(time.process_time)
        if not skip:
            profile.enable()

    def task_done(**_kwargs) -> None:
        done[0] += 1
        if done[0] == skip and "profile" in child:
            child["profile"].enable()

    def process_shutdown(**_kwargs) -> None:
        profile = child.pop("profile", None)
        if profile is not None:
            profile.disable()
            profile.dump_stats(os.path.join(out_dir, f"child-{os.getpid()}.prof"))

    signals.worker_ready.connect(ready, weak=False)
    signals.worker_process_init.connect(process_init, weak=False)
    signals.worker_process_shutdown.connect(process_shutdown, weak=False)
    signals.task_postrun.connect(task_done, weak=False)
    from celery.__main__ import main as celery_main

    sys.argv = ["celery", *argv]
    try:
        celery_main()
    finally:
        main_profile.disable()
        main_profile.dump_stats(os.path.join(out_dir, "main.prof"))


if __name__ == "__main__":
    main()
