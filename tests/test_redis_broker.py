"""The Redis broker keeps one Redis client per channel, and messages still go through it."""

from __future__ import annotations

import pytest
from kombu import Connection

from scheduleonce import redis_broker
from tests.support.services import redis_url


def test_redis_broker_urls_use_the_transport_that_keeps_its_client():
    with Connection("redis://127.0.0.1:6379/0") as connection:
        assert isinstance(connection.transport, redis_broker.Transport)
    with Connection("rediss://127.0.0.1:6379/0") as connection:
        assert isinstance(connection.transport, redis_broker.Transport)


@pytest.mark.redis
def test_a_channel_puts_every_message_through_one_client_of_its_pool():
    with Connection(redis_url()) as connection:
        channel = connection.default_channel
        with channel.conn_or_acquire() as first, channel.conn_or_acquire() as second:
            assert first is second
            assert first.connection_pool is channel.pool
        given = channel._create_client()
        with channel.conn_or_acquire(given) as client:
            assert client is given
        channel._disconnect_pools()  # as after a fork or a reconnect: a new pool
        with channel.conn_or_acquire() as third:
            assert third is not first
            assert third.connection_pool is channel.pool


@pytest.mark.redis
def test_messages_still_arrive_in_order():
    with Connection(redis_url()) as connection:
        queue = connection.SimpleQueue("test-redis-broker")
        try:
            for number in range(3):
                queue.put({"number": number})
            received = []
            for _ in range(3):
                message = queue.get(timeout=5)
                received.append(message.payload["number"])
                message.ack()
            assert received == [0, 1, 2]
        finally:
            queue.close()
