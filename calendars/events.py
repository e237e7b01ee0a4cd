"""Neutral shapes of calendar events: what ``booking`` asks calendars to hold, and how an
event someone else made shows its owner's time.

Provider-independent: a provider turns ``EventDescription`` into its own request
body, and its own word for an event's free/busy status into ``Availability``. Times
are aware datetimes; ``time_zone`` is the IANA zone the event is shown in.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum


class Availability(StrEnum):
    """How an event shows its owner's time. Providers translate their own vocabulary to it.

    The values are what ``BusyInterval.show_as`` holds.
    """

    FREE = "free"
    TENTATIVE = "tentative"
    BUSY = "busy"
    OUT_OF_OFFICE = "oof"
    WORKING_ELSEWHERE = "workingElsewhere"
    UNKNOWN = "unknown"

    @classmethod
    def blocking(cls, *, tentative: bool) -> tuple[Availability, ...]:
        """What keeps a time from being offered; tentative events only when ``tentative``."""
        firm = (cls.BUSY, cls.OUT_OF_OFFICE, cls.WORKING_ELSEWHERE)
        return (*firm, cls.TENTATIVE) if tentative else firm

    @property
    def may_block(self) -> bool:
        """Worth keeping as busy time: it blocks, or a booking page may choose that it does."""
        return self in Availability.blocking(tentative=True)


@dataclass(frozen=True)
class Attendee:
    email: str
    name: str = ""


@dataclass(frozen=True)
class EventDescription:
    subject: str
    start: datetime
    end: datetime
    time_zone: str
    body_text: str = ""
    attendees: tuple[Attendee, ...] = field(default_factory=tuple)
    location: str = ""
    online_meeting: bool = False  # ask the provider for a Teams (or similar) meeting link

    def record_copy(self) -> EventDescription:
        """The event as another of the host's calendars holds it, for their records: the
        same subject, times, place and details, but no attendees (a provider invites every
        attendee of an event it makes, so a second one would be a second invitation) and
        no online meeting of its own (the meeting is the first calendar's)."""
        return replace(self, attendees=(), online_meeting=False)

    def to_json(self) -> dict:
        # ``asdict`` without its deep copies (a frozen dataclass's ``vars`` are its fields,
        # in order): every field but the three replaced here is a str or a bool.
        data = dict(vars(self))
        data["start"] = self.start.isoformat()
        data["end"] = self.end.isoformat()
        data["attendees"] = [dict(vars(a)) for a in self.attendees]
        return data

    @classmethod
    def from_json(cls, data: dict) -> EventDescription:
        return cls(
            subject=data["subject"],
            start=datetime.fromisoformat(data["start"]),
            end=datetime.fromisoformat(data["end"]),
            time_zone=data["time_zone"],
            body_text=data.get("body_text", ""),
            attendees=tuple(Attendee(**a) for a in data.get("attendees", [])),
            location=data.get("location", ""),
            online_meeting=bool(data.get("online_meeting", False)),
        )
