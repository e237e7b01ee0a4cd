"""Test-run environment, set before Django loads its settings.

The suite gets its own Celery broker folder (so it never shares a queue with a
`make run` in another terminal) and local-development defaults. Anything set
in the real environment (CI's DATABASE_URL, CELERY_BROKER_URL, ...) wins.
"""

import os
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parent
TEST_BROKER_DIR = ROOT / "var" / "test-broker"

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "scheduleonce.settings")
os.environ.setdefault("DEBUG", "1")
os.environ.setdefault("CELERY_FILESYSTEM_DIR", str(TEST_BROKER_DIR))
# Graph change notifications only where a test proves them (it turns them on and
# serves the webhook): elsewhere a worker's sync would have the sandbox validate
# SITE_URL's default address, where anything (another `make run`) may listen.
os.environ.setdefault("CALENDAR_NOTIFICATIONS", "0")


def pytest_configure(config):
    # Messages left over from an earlier, interrupted run must not reach this run's workers.
    if os.environ["CELERY_FILESYSTEM_DIR"] == str(TEST_BROKER_DIR):
        shutil.rmtree(TEST_BROKER_DIR, ignore_errors=True)
        # Settings may already have created these (pytest-django loads them early):
        # the test process itself queues tasks (pushes on commit), so they must exist.
        for sub in ("queue", "processed", "control"):
            (TEST_BROKER_DIR / sub).mkdir(parents=True, exist_ok=True)
    import django

    django.setup()
    _fast_password_hashing()
    _compile_translations()


def _fast_password_hashing() -> None:
    """Hash test passwords with MD5: PBKDF2's 1,000,000 rounds cost a third of the suite.

    Tests only: production keeps Django's default hashers. PBKDF2 stays listed, so a
    password a subprocess (`manage.py run`, a worker) hashed still checks here.
    """
    from django.conf import settings

    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.MD5PasswordHasher",
        *settings.PASSWORD_HASHERS,
    ]


def _compile_translations() -> None:
    """German pages need the compiled catalogues, which are built, not committed."""
    from ops.translations import compile_catalogs

    compile_catalogs()
