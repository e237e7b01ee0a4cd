"""The public booking page's HTML, rendered once per page version, locale and embed.

``/book/<slug>/`` is the same document for every visitor who carries no cookie of ours:
it holds no CSRF token, no account navigation and no per-visitor message. What it is
made from is the page's row (its settings, questions and names) and the reader's locale,
language and ``?embed=1``. So a visitor without our cookies is served a body rendered
earlier when all of these still hold:

- the page's ``PageStamp`` (read on every request, one query): its id, last edit
  (``updated_at``: every page edit saves the page, questions included, in one
  transaction), whether it takes bookings, its frame ancestors and the host's and
  organization's names (which change without touching the page);
- the host's availability version (``booking.availability_cache.host_version``), which
  every page edit and anything else that changes what the host's pages offer replaces;
- the locale, language and embed flag (part of the key).

Entries live in this process's memory, not the shared cache: the HTML also depends on
the code (templates, the static files' hashed names, translations), which a process
knows and a deploy replaces. A visitor with a session or messages cookie (a host looking
at their own page, who may have a message waiting) is rendered afresh and never stored.
Without a shared cache (``host_version`` None) every page is rendered.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable

from django.conf import settings
from django.contrib.messages.storage.cookie import CookieStorage
from django.http import HttpRequest

from booking.availability_cache import host_version
from booking.selectors import PageStamp

# Pages x locales x embed kept per process; a body is some 25 kB.
MAX_ENTRIES = 256

_entries: OrderedDict[tuple, tuple[str, bytes]] = OrderedDict()
_lock = threading.Lock()


def shareable(request: HttpRequest) -> bool:
    """Whether this visitor is answered like any other: no session or messages cookie,
    so nothing in the page can depend on who they are."""
    cookies = request.COOKIES
    return settings.SESSION_COOKIE_NAME not in cookies and CookieStorage.cookie_name not in cookies


def page_html(
    *, stamp: PageStamp, locale: str, language: str, embedded: bool, render: Callable[[], bytes]
) -> bytes:
    """The page's body: stored when it was rendered from the same stamp, locale, language
    and embed flag under the host's current version, else ``render()`` (kept for next time).
    """
    version = host_version(stamp.host_id)  # read before rendering, as the slots cache does
    if version is None:
        return render()
    key = (stamp, locale, language, embedded)
    with _lock:
        found = _entries.get(key)
        if found is not None:
            _entries.move_to_end(key)
    if found is not None and found[0] == version:
        return found[1]
    body = render()
    with _lock:
        _entries[key] = (version, body)
        _entries.move_to_end(key)
        while len(_entries) > MAX_ENTRIES:
            _entries.popitem(last=False)
    return body


def forget_all() -> None:
    """Drop every stored body (tests)."""
    with _lock:
        _entries.clear()
