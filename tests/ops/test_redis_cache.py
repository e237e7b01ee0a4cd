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
