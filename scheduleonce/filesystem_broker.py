"""The embedded broker of local runs: kombu's filesystem transport, whole messages only.

kombu's own transport creates a message's file in the queue folder and only then
writes the message into it. A worker polling that folder can take the file in
between, read nothing, fail to parse it and drop it: the task is lost without a
trace (seen as a busy-time sync that never ran). Here a message is written under a
hidden name the worker ignores and renamed into the queue once complete; a rename
within one folder is atomic, so a worker sees the whole message or nothing.

``register()`` makes ``filesystem://`` broker URLs use this transport; the Celery
app calls it before any connection is made. Redis and the other brokers are
untouched.
"""

from __future__ import annotations

import os
import uuid
from contextlib import suppress
from time import monotonic

from kombu import transport
from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps


class Channel(filesystem.Channel):
    def _put(self, queue, payload, **kwargs):
        """Put a message onto ``queue``, appearing there only when fully written."""
        # The name kombu gives messages: ordered by time, then unique, then the queue.
        name = f"{round(monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        # A leading dot: the worker reads only names of the form "<id>.<queue>.msg".
        partial = os.path.join(self.data_folder_out, f".{name}.part")
        try:
            with open(partial, "wb") as f:
                f.write(str_to_bytes(dumps(payload)))
            os.replace(partial, final)
        except OSError as exc:
            with suppress(OSError):
                os.remove(partial)
            raise ChannelError(f"Cannot add file {final!r} to directory") from exc


class Transport(filesystem.Transport):
    Channel = Channel


def register() -> None:
    """Route ``filesystem://`` URLs to this transport (idempotent)."""
    transport.TRANSPORT_ALIASES["filesystem"] = f"{__name__}:Transport"
    transport._transport_cache.pop("filesystem", None)
