"""The Redis cache backend keeps Django's behaviour and shares one client per pool."""

from __future__ import annotations

import pytest

from ops.redis_cache import RedisCache
from tests.support.services import redis_url


@pytest.mark.redis
def test_values_round_trip_through_one_shared_client():
    cache = RedisCache(redis_url(), {"KEY_PREFIX": "test-redis-cache"})
    try:
        cache.set("answer", {"slots": [1, 2]}, timeout=30)
        assert cache.get("answer") == {"slots": [1, 2]}
        assert cache.get_many(["answer", "missing"]) == {"answer": {"slots": [1, 2]}}
        assert cache.add("answer", "other") is False
        cache.delete("answer")
        assert cache.get("answer") is None
        client = cache._cache.get_client()
        assert cache._cache.get_client() is client
    finally:
        cache.delete_many(["answer"])
        cache.close()


def test_the_settings_use_it_for_a_redis_cache_url(settings):
    default = settings.CACHES["default"]
    if not str(default.get("LOCATION", "")).startswith("redis://"):
        pytest.skip("CACHE_URL is not a Redis URL")
    assert default["BACKEND"] == "ops.redis_cache.RedisCache"


@pytest.mark.redis
def test_a_counter_is_made_with_its_expiry_and_counted_in_one_round_trip(monkeypatch):
    """``count`` (the rate limits' and log-in throttle's counter, ``ops.ratelimit``) is
    Django's ``add(key, 0)`` then ``incr(key)``, sent as one script."""
    cache = RedisCache(redis_url(), {"KEY_PREFIX": "test-redis-count"})
    client = cache._cache.get_client(write=True)
    pool = client.connection_pool
    taken = []
    get_connection = pool.get_connection
    monkeypatch.setattr(pool, "get_connection", lambda: taken.append(1) or get_connection())
    try:
        cache.delete("hits")
        taken.clear()
        assert [cache.count("hits", timeout=30.5) for _ in range(3)] == [1, 2, 3]
        assert taken == [1, 1, 1]  # one connection taken (one round trip) per count
        assert 0 < client.ttl(cache.make_and_validate_key("hits")) <= 30
        # The value is Django's own integer: read and counted by Django's calls as well.
        assert cache.get("hits") == 3
        assert cache.incr("hits") == 4
        with pytest.raises(ValueError, match="expiry"):
            cache.count("hits", timeout=0)
    finally:
        cache.delete("hits")
        cache.close()
