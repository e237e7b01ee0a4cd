"""Celery's Redis broker, with one Redis client per channel instead of one per message.

kombu's Redis channel builds a new ``redis.Redis`` for every message it puts (and every
queue it sizes or purges). Building one fills its table of response callbacks: about
550 Python calls, a quarter of what publishing a booking's message costs the web
process (its outbox publisher thread), more than the ``LPUSH`` itself. A client is only
a handle on the channel's connection pool, taking a connection from it per command, and
is safe to share between threads, so the channel keeps one per pool (a new pool, after
the channel reconnects, gets a new client). The same reasoning as ``ops.redis_cache``
for Django's cache.

``register()`` makes ``redis://`` and ``rediss://`` broker URLs use this transport; the
Celery app calls it before any connection is made.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import redis
from kombu import transport
from kombu.transport import redis as kombu_redis

SCHEMES = ("redis", "rediss")


class Channel(kombu_redis.Channel):
    _kept_client: redis.Redis | None = None

    @contextmanager
    def conn_or_acquire(self, client: redis.Redis | None = None) -> Iterator[redis.Redis]:
        if client:
            yield client
            return
        pool = self.pool
        kept = self._kept_client
        if kept is None or kept.connection_pool is not pool:
            kept = self._kept_client = self._create_client()
        yield kept


class Transport(kombu_redis.Transport):
    Channel = Channel


def register() -> None:
    """Route ``redis://`` and ``rediss://`` URLs to this transport (idempotent)."""
    for scheme in SCHEMES:
        transport.TRANSPORT_ALIASES[scheme] = f"{__name__}:Transport"
        transport._transport_cache.pop(scheme, None)
