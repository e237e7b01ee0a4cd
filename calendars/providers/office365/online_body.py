"""The body of an event that is an online meeting: ours above, the meeting's below.

Graph appends the meeting's join information (the "meeting blob") to the body of an
event it makes an online meeting, and Microsoft's "Update event" page warns that a
body PATCHed without it "would disable meeting online": the Teams meeting is turned
off and the invitee's join link stops working. So an update of such an event first
reads its body, and then either leaves ``body`` out (our part is unchanged: the usual
reschedule) or sends our new text above the blob exactly as Graph wrote it.
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

# The line Outlook draws above the meeting's details: a long run of underscores.
_RULE = re.compile(r"_{20,}")
# Tags that end a line of text (a body's words are compared line by line, not by markup).
_BREAKS = frozenset({"br", "div", "p", "tr", "li"})
_TAG_START = re.compile(r"<(div|p|table)\b", re.IGNORECASE)


def body_for_update(*, text: str, current: dict, join_url: str) -> dict | None:
    """The ``body`` to PATCH for our new ``text``, given the event's ``current`` body
    and its meeting's ``join_url``; None: leave ``body`` out of the PATCH.

    A body that holds no join link has no meeting to lose: it gets our text as it is.
    When the meeting's details cannot be told apart from the rest, the body is left as
    it is: a stale line of ours does less harm than a meeting turned off."""
    content = str(current.get("content") or "")
    is_html = str(current.get("contentType") or "").lower() == "html"
    at = _link_at(content, join_url) if join_url else -1
    if at < 0:
        return {"contentType": "text", "content": text}
    start = _blob_start(content, at, is_html=is_html)
    if start is None:
        return None
    ours_now = _plain(content[:start], is_html=is_html)
    if ours_now == _plain(text, is_html=False):
        return None
    blob = content[start:]
    if not is_html:
        blob = _text_as_html(blob)
    return {
        "contentType": "html",
        "content": f"<html><body><div>{_text_as_html(text)}</div><br>{blob}"
        + ("" if "</body>" in blob.lower() else "</body></html>"),
    }


def _link_at(content: str, join_url: str) -> int:
    found = content.find(join_url)
    return found if found >= 0 else content.find(html.escape(join_url, quote=True))


def _blob_start(content: str, link_at: int, *, is_html: bool) -> int | None:
    """Where the meeting's details begin: at the rule above the join link (in HTML, at
    the element holding that rule)."""
    rules = list(_RULE.finditer(content, 0, link_at))
    if not rules:
        return None
    rule_at = rules[-1].start()
    if not is_html:
        return content.rfind("\n", 0, rule_at) + 1
    tags = list(_TAG_START.finditer(content, 0, rule_at))
    return tags[-1].start() if tags else None


def _text_as_html(text: str) -> str:
    return "<br>".join(html.escape(line) for line in text.split("\n"))


def _plain(content: str, *, is_html: bool) -> str:
    """The words of a body, whatever markup and spacing carry them."""
    if is_html:
        reader = _TextOf()
        reader.feed(content)
        reader.close()
        content = "".join(reader.parts)
    return " ".join(content.split())


class _TextOf(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs) -> None:
        if tag in ("head", "style", "script"):
            self._skipping += 1
        elif tag in _BREAKS:
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("head", "style", "script") and self._skipping:
            self._skipping -= 1

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)
