"""The online meeting's join information in an event's body, as Graph keeps it.

When Graph makes an event an online meeting it appends the meeting's join
information (the "meeting blob") to the event's body, which becomes HTML. Microsoft's
"Update event" page: "Inadvertently removing the meeting blob from the body would
disable meeting online." So a PATCH whose new body no longer holds the meeting's join
link turns the meeting off (``isOnlineMeeting`` false, ``onlineMeeting`` null); a PATCH
without ``body`` leaves both alone.
"""

from __future__ import annotations

import html

from graph_sandbox.models import Event

# The line Outlook draws above and below the meeting's details.
RULE = "_" * 80


def meeting_blob(join_url: str) -> str:
    """The meeting's details as the body's HTML carries them (shaped like Teams')."""
    rule = (
        '<div style="width:100%"><span style="white-space:nowrap;color:#5F5F5F;opacity:.36">'
        f"{RULE}</span></div>"
    )
    link = html.escape(join_url, quote=True)
    return (
        f"{rule}"
        '<div class="me-email-text" lang="en-US">'
        '<div style="margin-top:24px;margin-bottom:20px">'
        '<span style="font-size:24px">Microsoft Teams meeting</span></div>'
        '<div style="margin-bottom:20px"><span style="font-size:14px;font-weight:bold">'
        "Join on your computer, mobile app or room device</span><br>"
        f'<a class="me-email-headline" href="{link}" target="_blank" rel="noreferrer noopener">'
        "Click here to join the meeting</a></div>"
        "</div>"
        f"{rule}"
    )


def blob_append(event: Event) -> None:
    """Append the event's meeting to its body (an event just made an online meeting)."""
    if not event.join_url:
        return
    if event.body_content_type == "html":
        inner = _inner(event.body_content)
    else:
        inner = "<br>".join(html.escape(line) for line in event.body_content.split("\n"))
    event.body_content_type = "html"
    event.body_content = (
        '<html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8">'
        f"</head><body><div>{inner}</div><br>{meeting_blob(event.join_url)}</body></html>"
    )


def holds_meeting(content: str, join_url: str) -> bool:
    """Whether a body still holds the meeting's join link (as sent, or HTML-escaped)."""
    return join_url in content or html.escape(join_url, quote=True) in content


def meeting_disable(event: Event) -> None:
    """The meeting is gone from the body: the event is no longer an online meeting."""
    event.is_online_meeting = False
    event.online_meeting_provider = "unknown"
    event.join_url = ""


def _inner(content: str) -> str:
    lower = content.lower()
    start = lower.find("<body")
    start = lower.find(">", start) + 1 if start >= 0 else 0
    end = lower.rfind("</body>")
    return content[start : end if end >= 0 else len(content)]
