"""The embedded broker of `make run` never hands a worker half a message.

kombu's own filesystem transport creates a message's file before writing it, so a
worker polling the queue folder could read it empty and drop the task.
"""

from __future__ import annotations

import json
import os
import threading

from kombu import Connection, Exchange, Queue


def test_a_message_appears_in_the_queue_only_when_whole(tmp_path):
    folder = tmp_path / "queue"
    folder.mkdir()
    for sub in ("processed", "control"):
        (tmp_path / sub).mkdir()
    options = {
        "data_folder_in": str(folder),
        "data_folder_out": str(folder),
        "processed_folder": str(tmp_path / "processed"),
        "control_folder": str(tmp_path / "control"),
        "store_processed": False,
    }
    queue = Queue("tasks", Exchange("tasks", type="direct"), routing_key="tasks")
    partial: list[int] = []
    stop = threading.Event()

    def watch_like_a_worker() -> None:
        while not stop.is_set():
            for name in os.listdir(folder):
                if not name.endswith(".tasks.msg"):
                    continue
                try:
                    data = (folder / name).read_bytes()
                except FileNotFoundError:
                    continue
                try:
                    json.loads(data)
                except ValueError:
                    partial.append(len(data))

    watcher = threading.Thread(target=watch_like_a_worker, daemon=True)
    with Connection("filesystem://", transport_options=options) as connection:
        producer = connection.Producer()
        watcher.start()
        try:
            # Big messages keep each write long enough for the watcher to look in.
            for number in range(5):
                producer.publish(
                    {"number": number, "padding": "x" * 20_000_000},
                    exchange=queue.exchange,
                    routing_key="tasks",
                    declare=[queue],
                )
        finally:
            stop.set()
            watcher.join(10)
        assert partial == [], "the queue showed a message before it was whole"
        received = []
        with connection.SimpleQueue(queue) as simple:
            for _ in range(5):
                message = simple.get(timeout=5)
                received.append(message.payload["number"])
                message.ack()
    assert sorted(received) == [0, 1, 2, 3, 4]
    assert os.listdir(folder) == []  # nothing half-written left behind either
