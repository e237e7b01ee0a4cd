"""The message ``outbox.dispatch.task_send`` hands the broker is Celery's own protocol-2
task message, whatever shortcut the publisher takes to make it (``_args_repr``)."""

from __future__ import annotations

import pytest
from celery import signals
from celery.app import amqp
from kombu import Producer

from outbox import dispatch


@pytest.fixture
def published(monkeypatch):
    """What is handed to the broker (as the worker will read it), the send stopped just
    before it leaves: no broker needed, nothing queued."""
    seen: list[dict] = []

    def record(sender=None, body=None, headers=None, properties=None, routing_key=None, **kw):
        seen.append({"task": sender, "body": body, "headers": headers, "routing_key": routing_key})

    def publish(self, body, **kwargs):
        seen[-1]["published"] = (body, kwargs["headers"], kwargs.get("serializer"))

    monkeypatch.setattr(Producer, "publish", publish)
    signals.before_task_publish.connect(record, weak=False)
    yield seen
    signals.before_task_publish.disconnect(record)


def test_the_message_is_a_protocol_2_task_message_with_its_arguments_shown(published):
    items = [["booking.tasks.send_booking_email", [7]], ["calendars.tasks.push_event", [9]]]
    assert dispatch.task_send(
        dispatch.BUNDLE_TASK, args=[items], options={"soft_time_limit": 60, "time_limit": 90}
    )
    [message] = published
    headers = message["headers"]
    assert message["task"] == headers["task"] == dispatch.BUNDLE_TASK
    assert headers["lang"] == "py"
    assert headers["id"]
    assert headers["root_id"] == headers["id"]
    assert headers["timelimit"] == [90, 60]
    assert headers["argsrepr"] == repr([items])
    assert headers["kwargsrepr"] == "{}"
    args, kwargs, embed = message["body"]
    assert (args, kwargs) == ((items,), {}) or (list(args), kwargs) == ([items], {})
    assert set(embed) == {"callbacks", "errbacks", "chain", "chord"}
    body, sent_headers, serializer = message["published"]
    assert (body, sent_headers, serializer) == (message["body"], headers, "json")


def test_arguments_are_shown_without_celerys_item_by_item_repr(published, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("saferepr walked the arguments")

    monkeypatch.setattr(amqp, "saferepr", refuse)
    dispatch.task_send("booking.tasks.send_booking_email", args=[7])
    [message] = published
    assert message["headers"]["argsrepr"] == "[7]"


def test_long_arguments_are_cut_as_celery_cuts_them(published):
    dispatch.task_send("booking.tasks.send_booking_email", args=[list(range(1000))])
    shown = published[0]["headers"]["argsrepr"]
    assert len(shown) == dispatch.ARGS_REPR_LIMIT
    assert shown.endswith("...")
    assert shown.startswith("[[0, 1, 2")
