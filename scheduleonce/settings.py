"""ScheduleOnce settings, read strictly from the environment.

Every value comes from an environment variable (see README, "Configuration").
Local development runs with ``DEBUG=1`` and gets working defaults for
everything; production (``DEBUG`` unset or false) refuses to start without
its secrets.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

import environ
from django.core.exceptions import ImproperlyConfigured

from scheduleonce.envtools import (
    env_choice,
    env_count,
    env_flag,
    env_int,
    env_int_list,
    env_list,
    env_seconds,
)
from scheduleonce.local_keys import local_token_keys

BASE_DIR = Path(__file__).resolve().parent.parent


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


env = environ.Env()

VAR_DIR = Path(env.str("VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env_flag("DEBUG", default=False)

# --- secrets -----------------------------------------------------------------

SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY must be set in production (set DEBUG=1 for local development)."
        )
    SECRET_KEY = "dev-only-insecure-secret-key-do-not-use-in-production"
# Earlier secret keys, still accepted for what they signed (invitees' cancel and reschedule
# links, sessions) after SECRET_KEY is rotated; comma-separated.
SECRET_KEY_FALLBACKS = env_list("SECRET_KEY_FALLBACKS")

# Fernet keys for the stored Microsoft token caches, newest first.
TOKEN_ENCRYPTION_KEYS = env_list("TOKEN_ENCRYPTION_KEYS")
if not TOKEN_ENCRYPTION_KEYS:
    if not DEBUG:
        raise ImproperlyConfigured(
            "TOKEN_ENCRYPTION_KEYS must be set in production: a comma-separated list of "
            "Fernet keys, newest first."
        )
    TOKEN_ENCRYPTION_KEYS = local_token_keys(VAR_DIR / "token_encryption_keys")

# --- hosts and security ----------------------------------------------------------

if DEBUG:
    _default_hosts = ["127.0.0.1", "localhost", "[::1]", "testserver"]
else:
    _default_hosts = []
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS") or _default_hosts
if not DEBUG and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS must be set in production.")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
CSRF_FAILURE_VIEW = "ops.views.csrf_failure"

# The public address of the site, used in emails and links that leave the site.
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_flag("SECURE_SSL_REDIRECT", default=not DEBUG)
# Health checks and Prometheus scrape the web server directly over the private network.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^metrics$"]
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_flag("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env_flag("SECURE_HSTS_PRELOAD", default=False)
# Joining the browsers' HSTS preload list is hard to undo, so it is an operator's
# explicit choice; not having it is not a deployment problem.
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Every response's Content-Security-Policy (django-csp); what depends on the page is added
# in ops/csp.py. No inline script or style anywhere: pages use static files only.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    }
}

# --- applications ----------------------------------------------------------------

# The issuer authenticator apps show next to a two-factor sign-in's account.
OTP_TOTP_ISSUER = "ScheduleOnce"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "csp",
    "outbox",
    "accounts",
    # Two-factor sign-in (accounts.two_factor): TOTP devices and recovery codes.
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "ops",
    "calendars",
    "booking",
    # Outgoing webhooks and the read API (imported by nobody; listens to booking and calendars).
    "integrations",
]

MIDDLEWARE = [
    # Every answer timed by route for /metrics (scheduleonce_http_request_seconds).
    "ops.middleware.RequestMetricsMiddleware",
    # A request id for the log lines of the request and of the tasks it queues.
    "ops.request_id.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # The Content-Security-Policy (CONTENT_SECURITY_POLICY below, and per page in ops/csp.py).
    "ops.csp.ContentSecurityPolicyMiddleware",
    # Unreadable requests, the API's JSON error body, and 503 while the database is down.
    "ops.middleware.ErrorAnswersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The language: the browser's Accept-Language (ops/language.py then applies a host's
    # Profile choice or a public page's ?lang=).
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "accounts.middleware.TwoFactorMiddleware",
    "ops.language.LanguageChoiceMiddleware",
    # Django's messages, their storage made only for a request that uses them.
    "ops.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "scheduleonce.urls"
WSGI_APPLICATION = "scheduleonce.wsgi.application"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "accounts:login"
# Setup → Meetings once the host has a booking, Getting started before (booking.meeting_views).
LOGIN_REDIRECT_URL = "meetings:landing"
LOGOUT_REDIRECT_URL = "accounts:login"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "ops.context_processors.site",
                "calendars.context_processors.calendar_banners",
                "accounts.context_processors.organization",
            ],
        },
    },
]

# --- database --------------------------------------------------------------------


def _tune_database(db: dict, *, test_name: str) -> dict:
    """SQLite for concurrent local processes; persistent connections for PostgreSQL."""
    if db["ENGINE"] == "django.db.backends.sqlite3":
        # WAL lets the web server, worker and beat read while one of them writes;
        # IMMEDIATE transactions take the write lock up front, so concurrent writers
        # queue on the busy timeout instead of failing half-way through.
        db["OPTIONS"] = {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 30,
        }
        # A file, not memory, so that a worker process started by a test sees the
        # test database too.
        db["TEST"] = {"NAME": str(VAR_DIR / test_name)}
    else:
        db["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
        db["CONN_HEALTH_CHECKS"] = True
        if env_flag("DATABASE_PREPARED_STATEMENTS", default=True):
            # The SQL compiled once per process runs as prepared statements (ops.prepared);
            # off behind a pooler that moves a client between server sessions.
            from ops.prepared import PreparingConnection, PreparingCursor

            db.setdefault("OPTIONS", {}).update(
                connection_factory=PreparingConnection, cursor_factory=PreparingCursor
            )
    return db


DATABASES = {
    "default": _tune_database(
        env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
        test_name="test_db.sqlite3",
    ),
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- cache -----------------------------------------------------------------------

CACHES = {"default": env.cache_url("CACHE_URL", default="locmemcache://")}
if CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache":
    # The same backend, sharing one Redis client per connection pool (ops/redis_cache.py).
    CACHES["default"]["BACKEND"] = "ops.redis_cache.RedisCache"
# Slots answers in the cache (booking/availability_cache.py): auto = only when the cache
# above is shared by all processes (Redis), never with the per-process local memory.
AVAILABILITY_CACHE = env.str("AVAILABILITY_CACHE", default="auto")

# --- booking ---------------------------------------------------------------------

# Booking POSTs allowed per client IP and minute (0: no limit).
BOOKING_RATE_LIMIT = env_count("BOOKING_RATE_LIMIT", default=10)
# How many reverse proxies in front of the web server append to X-Forwarded-For.
# 0: the client IP is REMOTE_ADDR and X-Forwarded-For is ignored.
TRUSTED_PROXY_COUNT = env_count("TRUSTED_PROXY_COUNT", default=0)

# Failed log-ins: after LOGIN_FAILURE_LIMIT failures for one account, or
# LOGIN_FAILURE_LIMIT_PER_IP from one client address, logging in pauses until
# LOGIN_FAILURE_WINDOW seconds after the first of them (0: no limit).
LOGIN_FAILURE_LIMIT = env_count("LOGIN_FAILURE_LIMIT", default=10)
LOGIN_FAILURE_LIMIT_PER_IP = env_count("LOGIN_FAILURE_LIMIT_PER_IP", default=50)
LOGIN_FAILURE_WINDOW = env_int("LOGIN_FAILURE_WINDOW", default=900, minimum=1)
# Sign-ups and password reset requests allowed per client address and minute (each
# form counted on its own), and reset requests for one email address per hour from
# anywhere (0: no limit). See accounts.form_throttle.
ACCOUNT_FORM_RATE_LIMIT = env_count("ACCOUNT_FORM_RATE_LIMIT", default=10)
PASSWORD_RESET_LIMIT_PER_ADDRESS = env_count("PASSWORD_RESET_LIMIT_PER_ADDRESS", default=5)

# --- passwords, sessions, i18n -----------------------------------------------------

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
SESSION_COOKIE_AGE = 14 * 24 * 3600
# The admin never shows a person's authenticator secret (nor its QR code) or recovery
# codes: whoever reads them can pass as that person's second factor.
OTP_ADMIN_HIDE_SENSITIVE_DATA = True
LANGUAGE_CODE = "en"
# English is the source language; every other one is shipped complete (`make test`
# runs check_translations). Catalogues: locale/<lang>/LC_MESSAGES/*.po (`make messages`).
LANGUAGES = [("en", "English"), ("de", "Deutsch")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- static files ----------------------------------------------------------------

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(VAR_DIR / "staticfiles")))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# --- email -----------------------------------------------------------------------

if "EMAIL_URL" in env:
    # e.g. smtp+tls://user:password@smtp.example.com:587
    _email = env.email_url("EMAIL_URL")
    if _email["EMAIL_BACKEND"] == "django.core.mail.backends.smtp.EmailBackend":
        _email["EMAIL_BACKEND"] = "ops.mail.SMTPBackend"  # Django's, one TLS context per process
    globals().update(_email)
else:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="ScheduleOnce <no-reply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
EMAIL_TIMEOUT = 10

# --- Celery ------------------------------------------------------------------------

CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
REDIS_VISIBILITY_TIMEOUT = 3600
if CELERY_BROKER_URL.startswith("filesystem://"):
    # kombu's filesystem transport: a broker that needs no server, for local runs.
    _broker_dir = Path(env.str("CELERY_FILESYSTEM_DIR", default=str(VAR_DIR / "broker")))
    for _sub in ("queue", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
        # kombu polls the folder; its default (1 s) caps a worker at about one task per
        # pool process and second, since a late-acknowledged task frees its slot only then.
        "polling_interval": 0.1,
    }
else:
    # Redis hands a message that a worker has held unacknowledged this long to another
    # worker. A task waiting for its countdown (a retry) is held unacknowledged too, so
    # no task may wait this long, or it runs twice (booking.tasks.EMAIL_RETRY_DELAYS).
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": REDIS_VISIBILITY_TIMEOUT}
# Celery's Django fixup closes every database connection before and after each task
# unless this is set (a new PostgreSQL connection per task: most of a short task's
# cost). With it that fixup only closes them every 10,000 tasks; in between,
# ops.celery_context treats each task as Django treats a request: close_old_connections
# before and after it, so CONN_MAX_AGE and CONN_HEALTH_CHECKS apply and a broken or
# too-old connection is replaced.
CELERY_DB_REUSE_MAX = 10_000
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# Read by Celery for every message it sends (one per booking, from the web's outbox
# publisher), with Celery's default values: named here, they are found in the first place
# Celery looks. One not named costs about 13 µs a read (four spellings tried in each of
# its three sources, through Django's settings), some 90 µs a message.
# tests/test_celery_settings.py keeps the list complete.
CELERY_TASK_ALWAYS_EAGER = False
CELERY_TASK_DEFAULT_QUEUE = "celery"
CELERY_TASK_SEND_SENT_EVENT = False
CELERY_TASK_REPR_MAXLEVELS = 3
CELERY_BROKER_POOL_ACQUIRE_TIMEOUT = None
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE: dict[str, dict] = {
    "worker-heartbeat": {
        "task": "ops.tasks.record_heartbeat",
        "schedule": env_seconds("HEARTBEAT_INTERVAL", default=60),
        "args": ("beat",),
    },
    # Refresh sign-ins older than CALENDAR_KEEPALIVE_AFTER_DAYS, sliding Microsoft's 90 days.
    "calendar-keepalive": {
        "task": "calendars.tasks.keep_connections_alive",
        "schedule": env_seconds("CALENDAR_KEEPALIVE_INTERVAL", default=24 * 3600),
    },
    # Warn hosts before a sign-in expires; disconnect the ones that expired.
    "calendar-expiry": {
        "task": "calendars.tasks.check_connection_expiry",
        "schedule": env_seconds("CALENDAR_EXPIRY_CHECK_INTERVAL", default=3600),
    },
    # Queue one busy-time sync per connected account whose calendars some page reads (with
    # live change notifications, only once CALENDAR_SYNC_INTERVAL_LIVE passed), and make or
    # renew change-notification subscriptions that are due.
    "calendar-sync": {
        "task": "calendars.tasks.sync_all_connections",
        "schedule": env_seconds("CALENDAR_SYNC_INTERVAL", default=300),
    },
    # Re-queue outbox items whose task was lost (a killed worker, a lost message, a broker
    # that was down): calendar pushes and booking emails (outbox.sweeper).
    "outbox-sweep": {
        "task": "outbox.tasks.sweep_outboxes",
        "schedule": env_seconds(
            "OUTBOX_SWEEP_INTERVAL", default=env_seconds("CALENDAR_SWEEP_INTERVAL", default=60)
        ),
    },
    # Email the owner of an API token that expires within API_TOKEN_EXPIRY_WARNING_DAYS
    # (once per token: integrations.token_expiry).
    "api-token-expiry": {
        "task": "integrations.tasks.warn_expiring_tokens",
        "schedule": env_seconds("API_TOKEN_EXPIRY_CHECK_INTERVAL", default=3600),
    },
    # Queue the invitee reminders that are due (booking.reminders): each is sent once.
    "invitee-reminders": {
        "task": "booking.tasks.dispatch_invitee_reminders",
        "schedule": env_seconds("REMINDER_INTERVAL", default=60),
    },
}
# The sweeper re-queues a due outbox item (a booking email) nobody queued for this many
# seconds; calendar pushes have their own CALENDAR_REQUEUE_AFTER.
OUTBOX_REQUEUE_AFTER = env_seconds("OUTBOX_REQUEUE_AFTER", default=300)

# --- outgoing webhooks and the read API (integrations) ---------------------------------

# Seconds one webhook POST may take (connecting and reading the answer), and how much of
# the receiver's answer is read at most.
WEBHOOK_TIMEOUT = env_seconds("WEBHOOK_TIMEOUT", default=10)
WEBHOOK_RESPONSE_MAX_BYTES = 4096
# Retries: exponential backoff with full jitter, a random wait up to
# min(cap, base * 2^(attempt-1)) seconds (never shorter than the receiver's Retry-After),
# for WEBHOOK_RETRY_WINDOW seconds after the event; then the delivery is marked failed.
WEBHOOK_RETRY_BASE = env_seconds("WEBHOOK_RETRY_BASE", default=10)
WEBHOOK_RETRY_CAP = env_seconds("WEBHOOK_RETRY_CAP", default=1800)
WEBHOOK_RETRY_WINDOW = env_seconds("WEBHOOK_RETRY_WINDOW", default=24 * 3600)
# An endpoint whose deliveries have failed without a success for this long is disabled
# and its owner emailed.
WEBHOOK_DISABLE_AFTER = env_seconds("WEBHOOK_DISABLE_AFTER", default=5 * 24 * 3600)
# How long a worker may hold one delivery (the task is stopped before it ends).
WEBHOOK_LEASE = env_seconds("WEBHOOK_LEASE", default=60)
if WEBHOOK_LEASE < 2 * WEBHOOK_TIMEOUT:
    raise ImproperlyConfigured("WEBHOOK_LEASE must be at least twice WEBHOOK_TIMEOUT.")
# Webhook URLs on this machine (loopback, and plain http to it) are allowed for local
# development only; private, link-local and metadata addresses are refused always.
WEBHOOK_ALLOW_LOOPBACK = env_flag("WEBHOOK_ALLOW_LOOPBACK", default=DEBUG)
# Read API requests allowed per personal access token and minute (0: no limit).
API_RATE_LIMIT = env_count("API_RATE_LIMIT", default=120)
# An API token's owner is emailed once, this many days before the token expires.
API_TOKEN_EXPIRY_WARNING_DAYS = env_count("API_TOKEN_EXPIRY_WARNING_DAYS", default=7)

# --- Microsoft identity platform and Graph -------------------------------------------

MS_CLIENT_ID = env.str("MS_CLIENT_ID", default="")
MS_CLIENT_SECRET = env.str("MS_CLIENT_SECRET", default="")
# The built-in stand-in for Microsoft (graph_sandbox) is on for local runs when no
# Azure app is configured; production never installs it unless asked to.
GRAPH_SANDBOX = env_flag("GRAPH_SANDBOX", default=DEBUG and not MS_CLIENT_ID)
_ms_defaults = {
    "authority": "https://login.microsoftonline.com/common",
    "graph_url": "https://graph.microsoft.com/v1.0",
    "ca_bundle": "",
}
if GRAPH_SANDBOX:
    # The sandbox serves Microsoft's identity and Graph endpoints over TLS on this
    # port (`manage.py run_graph_sandbox`); its browser pages (sign-in, consent and
    # the mailbox page) live under /graph-sandbox/ of the web server.
    INSTALLED_APPS.append("graph_sandbox")
    GRAPH_SANDBOX_HOST = env.str("GRAPH_SANDBOX_HOST", default="127.0.0.1")
    GRAPH_SANDBOX_PORT = env.int("GRAPH_SANDBOX_PORT", default=8443)
    GRAPH_SANDBOX_PAGES_URL = env.str("GRAPH_SANDBOX_PAGES_URL", default=SITE_URL).rstrip("/")
    GRAPH_SANDBOX_TLS_DIR = Path(
        env.str("GRAPH_SANDBOX_TLS_DIR", default=str(VAR_DIR / "graph_sandbox"))
    )
    # How its token answers name Graph scopes: "short" (Calendars.ReadWrite, as Microsoft's
    # live answers commonly do) or "uri" (https://graph.microsoft.com/Calendars.ReadWrite,
    # as Microsoft's documentation shows). The product must cope with both.
    GRAPH_SANDBOX_SCOPE_FORM = env_choice(
        "GRAPH_SANDBOX_SCOPE_FORM", choices=("short", "uri"), default="short"
    )
    # Longest change-notification subscription it grants, in minutes. Microsoft's pages
    # say 4,230 for Outlook resources (older) or 10,080 (newer); the product must cope with both.
    GRAPH_SANDBOX_SUBSCRIPTION_MAX_MINUTES = env_int(
        "GRAPH_SANDBOX_SUBSCRIPTION_MAX_MINUTES", default=4230, minimum=45
    )
    # Its own store, apart from the product's tables (graph_sandbox.router).
    DATABASES["graph_sandbox"] = _tune_database(
        env.db_url(
            "GRAPH_SANDBOX_DATABASE_URL",
            default=f"sqlite:///{VAR_DIR / 'graph_sandbox.sqlite3'}",
        ),
        test_name="test_graph_sandbox.sqlite3",
    )
    DATABASE_ROUTERS = ["graph_sandbox.router.GraphSandboxRouter"]
    # The product is configured exactly as for a real Azure app registration: these
    # are the credentials of the demo app that graph_sandbox.demo seeds.
    MS_CLIENT_ID = MS_CLIENT_ID or "5d1e8a36-0c6b-4a57-9f0e-5a2d1c0b7e41"
    MS_CLIENT_SECRET = MS_CLIENT_SECRET or "Sbx8Q~demo-client-secret-for-the-graph-sandbox"
    _ms_defaults = {
        "authority": f"https://localhost:{GRAPH_SANDBOX_PORT}/common",
        "graph_url": f"https://localhost:{GRAPH_SANDBOX_PORT}/v1.0",
        "ca_bundle": str(GRAPH_SANDBOX_TLS_DIR / "ca.pem"),
    }
MS_AUTHORITY = env.str("MS_AUTHORITY", default=_ms_defaults["authority"]).rstrip("/")
MS_GRAPH_URL = env.str("MS_GRAPH_URL", default=_ms_defaults["graph_url"]).rstrip("/")
MS_CA_BUNDLE = env.str("MS_CA_BUNDLE", default=_ms_defaults["ca_bundle"])
# Where the browser signs in (Setup's Connect forms are redirected there, so the
# Content-Security-Policy's form-action must allow it): the authority's origin, and
# with the sandbox the origin of its sign-in pages.
MS_SIGN_IN_ORIGINS = env_list("MS_SIGN_IN_ORIGINS") or [
    _origin(MS_AUTHORITY),
    *([_origin(GRAPH_SANDBOX_PAGES_URL)] if GRAPH_SANDBOX else []),
]

# --- metrics (ops.metrics, /metrics) ------------------------------------------------

# The Bearer token Prometheus sends to GET /metrics. Unset: /metrics answers 404, except
# for local runs (DEBUG) asked from this machine.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
# Where every process (gunicorn workers, Celery workers, beat) keeps its counters, for
# /metrics to add up: one directory shared by all the processes of a machine (a volume
# shared by the web and worker containers). Set before prometheus_client is imported.
PROMETHEUS_MULTIPROC_DIR = Path(
    env.str("PROMETHEUS_MULTIPROC_DIR", default=str(VAR_DIR / "metrics"))
)
PROMETHEUS_MULTIPROC_DIR.mkdir(parents=True, exist_ok=True)
os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(PROMETHEUS_MULTIPROC_DIR)

# --- logging -----------------------------------------------------------------------

LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
# "text": readable lines; "json": one JSON object per line (same fields, for collectors).
LOG_FORMAT = env_choice("LOG_FORMAT", choices=("text", "json"), default="text")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "redact_secrets": {"()": "ops.logging.RedactSecretsFilter"},
        "redact_access": {"()": "ops.logging.RedactSecretsFilter", "addresses": True},
        "log_context": {"()": "ops.logging.LogContextFilter"},
        "refused_host": {"()": "ops.logging.RefusedHostFilter"},
    },
    "formatters": {
        "text": {"()": "ops.logging.TextFormatter"},
        "json": {"()": "ops.logging.JsonFormatter"},
        "django.server": {
            "()": "django.utils.log.ServerFormatter",
            "format": "[{server_time}] {message}",
            "style": "{",
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["log_context", "redact_secrets"],
        },
        # Django's request warnings ("Not Found: <path>", a refused CSRF check) name the
        # address, which may be a key (a booking's, an invitation's or a reset link).
        "console_addresses": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["log_context", "redact_access"],
        },
        # runserver's access lines, as Django writes them, scrubbed like ours: a password
        # reset or booking link in a request line is a key (gunicorn: ops.gunicorn_logging).
        "django.server": {
            "class": "logging.StreamHandler",
            "formatter": "django.server",
            "filters": ["redact_access"],
        },
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.server": {"handlers": ["django.server"], "level": "INFO", "propagate": False},
        "django.request": {"handlers": ["console_addresses"], "propagate": False},
        "django.security": {"handlers": ["console_addresses"], "propagate": False},
        # A Host the site does not serve: a WARNING line, no traceback (ops.logging).
        "django.security.DisallowedHost": {"filters": ["refused_host"]},
        "django.db.backends": {"level": "INFO"},
        # MSAL and urllib3 may log request details at DEBUG; keep them quiet.
        "msal": {"level": "WARNING"},
        "urllib3": {"level": "WARNING"},
    },
}

# --- error reporting (ops.sentry) ------------------------------------------------------

# Unset: nothing is sent. Set: errors of the web server and the workers go to Sentry,
# scrubbed of personal data and tokens.
SENTRY_DSN = env.str("SENTRY_DSN", default="")
SENTRY_ENVIRONMENT = env.str("SENTRY_ENVIRONMENT", default="development" if DEBUG else "production")
if SENTRY_DSN:
    from ops.sentry import sentry_init

    sentry_init(dsn=SENTRY_DSN, environment=SENTRY_ENVIRONMENT)

# --- calendar connections ------------------------------------------------------------------

# Refresh a connection's sign-in once its refresh token is this many days old. Each
# refresh slides Microsoft's 90-day window forward, so a healthy host never reconnects.
CALENDAR_KEEPALIVE_AFTER_DAYS = env_int("CALENDAR_KEEPALIVE_AFTER_DAYS", default=30, minimum=1)
if CALENDAR_KEEPALIVE_AFTER_DAYS >= 90:
    raise ImproperlyConfigured(
        "CALENDAR_KEEPALIVE_AFTER_DAYS must be below 90, or every connection would expire first."
    )
# On: hosts must sign in again 90 days after each sign-in (OnceHub's behaviour); the
# keep-alive then keeps tokens fresh but does not extend the connection's expiry.
CALENDAR_FIXED_RECONNECT = env_flag("CALENDAR_FIXED_RECONNECT", default=False)
# Email and banner warnings this many days before a connection expires.
CALENDAR_EXPIRY_WARNING_DAYS = sorted(
    set(env_int_list("CALENDAR_EXPIRY_WARNING_DAYS", default=[14, 3, 1], minimum=1)),
    reverse=True,
)

# --- busy-time sync and event push (calendars.tasks) ------------------------------------------

# A full read of a calendar's busy time (instead of a delta) at least this often, in seconds.
CALENDAR_SYNC_FULL_EVERY = env_seconds("CALENDAR_SYNC_FULL_EVERY", default=24 * 3600)
# Beat's busy-time sync cycle, in seconds: every account without live change
# notifications is read this often; with them, only every CALENDAR_SYNC_INTERVAL_LIVE
# (the safety net for lost notifications).
CALENDAR_SYNC_INTERVAL = env_seconds("CALENDAR_SYNC_INTERVAL", default=300)
CALENDAR_SYNC_INTERVAL_LIVE = env_seconds("CALENDAR_SYNC_INTERVAL_LIVE", default=1800)
# Graph change notifications (subscriptions): on unless turned off; tried only
# where the provider can reach SITE_URL (public https in production).
CALENDAR_NOTIFICATIONS = env_flag("CALENDAR_NOTIFICATIONS", default=True)
# The lifetime asked for, in minutes; a refusal as too long falls back to 4,225, then 60.
CALENDAR_NOTIFICATIONS_LIFETIME_MINUTES = env_int(
    "CALENDAR_NOTIFICATIONS_LIFETIME_MINUTES", default=4225, minimum=45
)
# Notifications within this many milliseconds of the first make one sync (the debounce).
CALENDAR_NOTIFICATIONS_DEBOUNCE_MS = env_count("CALENDAR_NOTIFICATIONS_DEBOUNCE_MS", default=1000)
# Attempts of one push (create, update or delete) before it is marked failed.
CALENDAR_PUSH_MAX_ATTEMPTS = env_int("CALENDAR_PUSH_MAX_ATTEMPTS", default=8, minimum=1)
# Exponential backoff with full jitter between attempts: a random wait up to
# min(cap, base * 2^(attempt-1)) seconds, never shorter than Microsoft's Retry-After.
CALENDAR_RETRY_BASE = env_seconds("CALENDAR_RETRY_BASE", default=10)
CALENDAR_RETRY_CAP = env_seconds("CALENDAR_RETRY_CAP", default=600)
# How long a worker may hold a push, a sync or a mailbox slot; a killed worker's work is
# taken over after it. Tasks are stopped (hard time limit) before their lease ends.
CALENDAR_TASK_LEASE = env_seconds("CALENDAR_TASK_LEASE", default=120)
if CALENDAR_TASK_LEASE < 4:
    raise ImproperlyConfigured("CALENDAR_TASK_LEASE must be at least 4 seconds.")
# The sweeper re-queues a due push when nobody queued it for this many seconds.
CALENDAR_REQUEUE_AFTER = env_seconds("CALENDAR_REQUEUE_AFTER", default=300)
# Concurrent calls one mailbox may get from all workers together (Outlook allows 4).
CALENDAR_MAILBOX_CONCURRENCY = env_int("CALENDAR_MAILBOX_CONCURRENCY", default=4, minimum=1)
if CALENDAR_MAILBOX_CONCURRENCY > 4:
    raise ImproperlyConfigured(
        "CALENDAR_MAILBOX_CONCURRENCY must be 4 or less: Outlook refuses a 5th concurrent call."
    )
