"""Run manage.py in a child process with a chosen environment."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Variables a test must not inherit when it wants "a fresh machine" or "production".
SERVICE_VARS = (
    "DATABASE_URL",
    "CELERY_BROKER_URL",
    "CACHE_URL",
    "EMAIL_URL",
    "SECRET_KEY",
    "TOKEN_ENCRYPTION_KEYS",
    "ALLOWED_HOSTS",
    "DEBUG",
    "GRAPH_SANDBOX",
    "MS_CLIENT_ID",
    "MS_CLIENT_SECRET",
    "MS_AUTHORITY",
    "MS_GRAPH_URL",
    "MS_CA_BUNDLE",
    "VAR_DIR",
    "CELERY_FILESYSTEM_DIR",
)


def clean_env(**overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in SERVICE_VARS}
    env.update(overrides)
    return env


def manage(*args: str, env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
