"""The directory of counter files that every process writes (prometheus_client multiprocess).

- ``files_collector``: what ``/metrics`` reads, summed over every process's file.
- ``dead_processes_fold``: folds the files of processes that are gone (on this host)
  into one archive file per kind and deletes them, so thousands of restarted Celery
  children do not leave thousands of files. Counts are kept, never lost.

Scrapes hold a shared lock on the directory and folding an exclusive one, so a scrape
never sees a dead process's counts twice (archive updated, file not yet removed).
"""

from __future__ import annotations

import contextlib
import fcntl
import glob
import logging
import os
import socket
from collections.abc import Iterator
from pathlib import Path

from prometheus_client.mmap_dict import MmapedDict, mmap_key
from prometheus_client.multiprocess import MultiProcessCollector

from ops.metrics import process_identifier

logger = logging.getLogger(__name__)

ARCHIVE = "archive"
# Kinds of values this product writes (it keeps no gauge in files: gauges come from the DB).
KINDS = ("counter", "histogram")


def metrics_dir() -> Path:
    path = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    path.mkdir(parents=True, exist_ok=True)
    return path


@contextlib.contextmanager
def _locked(path: Path, mode: int) -> Iterator[None]:
    with open(path / ".lock", "a+") as lock_file:
        fcntl.flock(lock_file, mode)
        try:
            yield
        finally:
            fcntl.flock(lock_file, fcntl.LOCK_UN)


class FilesCollector(MultiProcessCollector):
    """prometheus_client's collector, reading under the directory's shared lock."""

    def __init__(self, path: Path) -> None:
        super().__init__(registry=None, path=str(path))
        self._dir = path

    def collect(self):
        with _locked(self._dir, fcntl.LOCK_SH):
            files = glob.glob(os.path.join(self._dir, "*.db"))
            return list(self.merge(files, accumulate=True))


def files_collector() -> FilesCollector:
    return FilesCollector(metrics_dir())


def _owner(file: Path) -> str | None:
    """``<host>-<pid>`` of a process's file (``counter_<host>-<pid>.db``); None for others."""
    kind, _, rest = file.stem.partition("_")
    if kind not in KINDS or rest == ARCHIVE or "-" not in rest:
        return None
    return rest


def _is_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: alive
    return True


def _dead_here(owner: str, host_prefix: str) -> bool:
    """A process of this host (container) that no longer runs.

    Not guarded: a new process that gets the same id in the instant between this check
    and the file's removal would lose its first counts (ids are handed out in turn, so
    this needs the whole id space to wrap around within that instant)."""
    host, _, pid = owner.rpartition("-")
    if host != host_prefix or not pid.isdigit():
        return False
    return int(pid) != os.getpid() and not _is_alive(int(pid))


def dead_processes_fold() -> int:
    """Fold the files of this host's dead processes into the archives; returns how many.

    Idempotent and safe to run from several processes at once (exclusive lock). Only
    processes of this host are judged, since process ids mean nothing across hosts.
    """
    path = metrics_dir()
    host_prefix = process_identifier().rpartition("-")[0]
    with _locked(path, fcntl.LOCK_EX):
        folded = 0
        for kind in KINDS:
            dead = [
                file
                for file in path.glob(f"{kind}_*.db")
                if (owner := _owner(file)) and _dead_here(owner, host_prefix)
            ]
            if dead:
                _fold(path, kind, dead)
                folded += len(dead)
    if folded:
        logger.info("metrics: folded the counters of %d ended process file(s)", folded)
    return folded


def _fold(path: Path, kind: str, dead: list[Path]) -> None:
    archive = path / f"{kind}_{ARCHIVE}.db"
    sources = [str(file) for file in dead]
    if archive.exists():
        sources.append(str(archive))
    merged = MultiProcessCollector.merge(sources, accumulate=False)
    temporary = path / f".{kind}_{ARCHIVE}.{socket.gethostname()}.{os.getpid()}.tmp"
    temporary.unlink(missing_ok=True)
    store = MmapedDict(str(temporary))
    try:
        for metric in merged:
            for sample in metric.samples:
                key = mmap_key(
                    metric.name,
                    sample.name,
                    list(sample.labels),
                    list(sample.labels.values()),
                    metric.documentation,
                )
                store.write_value(key, sample.value, 0.0)
    finally:
        store.close()
    # Replace the archive, then drop the folded files: both under the exclusive lock.
    os.replace(temporary, archive)
    for file in dead:
        file.unlink(missing_ok=True)
