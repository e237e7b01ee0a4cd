"""An online meeting's body on update: ours changes, the meeting's details stay.

Microsoft's "Update event": removing the meeting blob from an online meeting's body
would disable the online meeting, so the body is read and the blob kept.
"""

from __future__ import annotations

from calendars.providers.office365.online_body import body_for_update

JOIN = "https://teams.microsoft.com/l/meetup-join/19%3ameeting_Zm9v%40thread.v2/0?context=%7b%7d"
RULE = "_" * 80
BLOB = (
    f'<div style="width:100%"><span style="color:#5F5F5F">{RULE}</span></div>'
    '<div class="me-email-text"><div><span>Microsoft Teams meeting</span></div>'
    f'<a class="me-email-headline" href="{JOIN}">Click here to join the meeting</a>'
    f'</div><div style="width:100%"><span style="color:#5F5F5F">{RULE}</span></div>'
)
OURS = "Booked by Dana <dana@example.com>\n\nCancel: https://so.example/b/x/cancel/"


def _as_graph_keeps_it(text: str) -> dict:
    lines = "<br>".join(
        line.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        for line in text.split("\n")
    )
    content = (
        '<html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8">'
        f'<style>p {{margin:0}}</style></head><body><div class="elementToProof">{lines}</div>'
        f"<br>{BLOB}</body></html>"
    )
    return {"contentType": "html", "content": content}


def test_an_unchanged_text_leaves_the_body_out():
    assert body_for_update(text=OURS, current=_as_graph_keeps_it(OURS), join_url=JOIN) is None


def test_a_changed_text_is_sent_above_the_meetings_details_as_graph_wrote_them():
    new = OURS + "\nReschedule: https://so.example/b/x/reschedule/"
    body = body_for_update(text=new, current=_as_graph_keeps_it(OURS), join_url=JOIN)
    assert body["contentType"] == "html"
    assert BLOB in body["content"]
    assert "Reschedule: https://so.example/b/x/reschedule/" in body["content"]
    assert "Booked by Dana &lt;dana@example.com&gt;" in body["content"]
    assert body["content"].count("Cancel:") == 1
    assert body["content"].index("Reschedule:") < body["content"].index(RULE)


def test_a_body_without_the_join_link_gets_our_text_as_it_is():
    current = {"contentType": "text", "content": "Booked by Dana"}
    assert body_for_update(text=OURS, current=current, join_url=JOIN) == {
        "contentType": "text",
        "content": OURS,
    }
    assert body_for_update(text=OURS, current=current, join_url="") == {
        "contentType": "text",
        "content": OURS,
    }


def test_details_that_cannot_be_told_apart_leave_the_body_as_it_is():
    current = {"contentType": "html", "content": f'<p>Old text <a href="{JOIN}">join</a></p>'}
    assert body_for_update(text=OURS, current=current, join_url=JOIN) is None
