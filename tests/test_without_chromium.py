"""`make test` on a machine without Chromium: browser tests skip, unless CI requires them."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.support.subproc import ROOT, clean_env

pytestmark = [pytest.mark.slow]

BROWSER_TEST = "tests/calendars/test_reminder_keyboard.py"


def _pytest_without_chromium(tmp_path, **env: str) -> subprocess.CompletedProcess:
    """This suite's browser test in a child run with its own (SQLite) store under tmp_path."""
    return subprocess.run(
        [sys.executable, "-m", "pytest", BROWSER_TEST, "-p", "no:cacheprovider", "-rs"],
        cwd=ROOT,
        env=clean_env(
            DEBUG="1",
            VAR_DIR=str(tmp_path),
            CELERY_FILESYSTEM_DIR=str(tmp_path / "broker"),
            CHROMIUM_PATH=str(tmp_path / "no-chromium"),
            **{"REQUIRE_SERVICES": "", **env},
        ),
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_browser_tests_skip_where_chromium_is_missing(tmp_path):
    done = _pytest_without_chromium(tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 skipped" in done.stdout
    assert "Chromium is not installed" in done.stdout


def test_ci_fails_instead_of_skipping_browser_tests(tmp_path):
    done = _pytest_without_chromium(tmp_path, REQUIRE_SERVICES="1")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "REQUIRE_SERVICES=1 but Chromium is not installed" in done.stdout
