"""The neutral description of an event that ``booking`` asks calendars to hold.

Provider-independent: a provider turns it into its own request body. Times
are aware datetimes; ``time_zone`` is the IANA zone the event is shown in.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime


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

    def to_json(self) -> dict:
        data = asdict(self)
        data["start"] = self.start.isoformat()
        data["end"] = self.end.isoformat()
        data["attendees"] = [asdict(a) for a in self.attendees]
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
