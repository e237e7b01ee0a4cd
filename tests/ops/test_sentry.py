"""Sentry's tests (``sentry_cases.py``), in a pytest process of their own.

Once started, sentry-sdk keeps Django and Celery patched for the life of the process
(its integrations cannot be taken out again), which changed how later tests in the same
process saw a database that went away. So the cases run in a child pytest, on a test
database and local folders of their own.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def own_database_url() -> str | None:
    """DATABASE_URL with its own database name (pytest-django makes ``test_<name>``)."""
    url = os.environ.get("DATABASE_URL", "")
    if not url or url.startswith("sqlite"):
        return None  # SQLite: the test database lives under VAR_DIR, which is its own
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=parts.path.rstrip("/") + "_sentry"))


def test_sentry_gets_errors_without_personal_data_or_tokens(tmp_path):
    env = {
        **os.environ,
        "VAR_DIR": str(tmp_path),
        "CELERY_FILESYSTEM_DIR": str(tmp_path / "broker"),
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
    }
    if database_url := own_database_url():
        env["DATABASE_URL"] = database_url
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "tests/ops/sentry_cases.py", "-q",
         "-p", "no:cacheprovider", "--create-db"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-3000:]
    assert "4 passed" in done.stdout, done.stdout[-2000:]
