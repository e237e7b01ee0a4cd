"""Graph's ``dateTimeTimeZone``: a local ``dateTime`` with seven fractional digits and no
offset, plus a separate ``timeZone`` that may be a Windows name ("Pacific Standard
Time") or an IANA name ("America/Los_Angeles").
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

try:  # CLDR's whole windowsZones table ("001" territory), as icalendar ships it
    from icalendar.timezone.windows_to_olson import WINDOWS_TO_OLSON as _CLDR
except ImportError:  # pragma: no cover (icalendar is a requirement; the module may move)
    _CLDR = {}

# Windows time zone names to IANA (CLDR's "001" mappings) for the zones people use most.
WINDOWS_ZONES = {
    "UTC": "UTC",
    "Coordinated Universal Time": "UTC",
    "GMT Standard Time": "Europe/London",
    "Greenwich Standard Time": "Atlantic/Reykjavik",
    "W. Europe Standard Time": "Europe/Berlin",
    "Central Europe Standard Time": "Europe/Budapest",
    "Central European Standard Time": "Europe/Warsaw",
    "Romance Standard Time": "Europe/Paris",
    "GTB Standard Time": "Europe/Bucharest",
    "FLE Standard Time": "Europe/Kiev",
    "E. Europe Standard Time": "Europe/Chisinau",
    "Russian Standard Time": "Europe/Moscow",
    "Turkey Standard Time": "Europe/Istanbul",
    "Israel Standard Time": "Asia/Jerusalem",
    "South Africa Standard Time": "Africa/Johannesburg",
    "Egypt Standard Time": "Africa/Cairo",
    "Arabian Standard Time": "Asia/Dubai",
    "Arab Standard Time": "Asia/Riyadh",
    "Iran Standard Time": "Asia/Tehran",
    "Pakistan Standard Time": "Asia/Karachi",
    "India Standard Time": "Asia/Calcutta",
    "Nepal Standard Time": "Asia/Katmandu",
    "Bangladesh Standard Time": "Asia/Dhaka",
    "SE Asia Standard Time": "Asia/Bangkok",
    "China Standard Time": "Asia/Shanghai",
    "Singapore Standard Time": "Asia/Singapore",
    "Taipei Standard Time": "Asia/Taipei",
    "Tokyo Standard Time": "Asia/Tokyo",
    "Korea Standard Time": "Asia/Seoul",
    "W. Australia Standard Time": "Australia/Perth",
    "Cen. Australia Standard Time": "Australia/Adelaide",
    "AUS Eastern Standard Time": "Australia/Sydney",
    "E. Australia Standard Time": "Australia/Brisbane",
    "New Zealand Standard Time": "Pacific/Auckland",
    "Hawaiian Standard Time": "Pacific/Honolulu",
    "Alaskan Standard Time": "America/Anchorage",
    "Pacific Standard Time": "America/Los_Angeles",
    "US Mountain Standard Time": "America/Phoenix",
    "Mountain Standard Time": "America/Denver",
    "Central Standard Time": "America/Chicago",
    "Canada Central Standard Time": "America/Regina",
    "Central America Standard Time": "America/Guatemala",
    "Central Standard Time (Mexico)": "America/Mexico_City",
    "Eastern Standard Time": "America/New_York",
    "US Eastern Standard Time": "America/Indianapolis",
    "SA Pacific Standard Time": "America/Bogota",
    "Atlantic Standard Time": "America/Halifax",
    "Newfoundland Standard Time": "America/St_Johns",
    "E. South America Standard Time": "America/Sao_Paulo",
    "Argentina Standard Time": "America/Buenos_Aires",
    "Pacific SA Standard Time": "America/Santiago",
}
_IANA_TO_WINDOWS = {iana: name for name, iana in reversed(WINDOWS_ZONES.items())}

GRAPH_DATETIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%f0"  # seven fractional digits


class BadTimeZone(ValueError):
    """A timeZone value neither Windows nor IANA knows."""

    def __init__(self, name: str):
        super().__init__(name)
        self.name = name


class BadDateTime(ValueError):
    """A dateTime value that is not ISO 8601."""


def zone(name: str) -> ZoneInfo:
    """The zone for a Windows or IANA name; raises ``BadTimeZone``.

    Graph takes "any of the time zones supported by Windows" (``dateTimeTimeZone``):
    every name of CLDR's table is known, not only the common ones above."""
    key = name.strip()
    iana = WINDOWS_ZONES.get(key) or _CLDR.get(key) or key
    if not iana:
        raise BadTimeZone(name)
    try:
        return ZoneInfo(iana)
    except (ZoneInfoNotFoundError, ValueError):
        raise BadTimeZone(name)


def windows_name(iana: str) -> str:
    """The Windows name of an IANA zone when we know one, else the IANA name."""
    return _IANA_TO_WINDOWS.get(iana, iana)


def parse_instant(value: str) -> datetime:
    """An aware UTC datetime from an ISO 8601 string; no offset means UTC.

    Used for query-string windows such as ``startDateTime``.
    """
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except (ValueError, AttributeError):
        raise BadDateTime(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return _to_utc(parsed, value)


def parse_date_time_time_zone(value: object) -> tuple[datetime, str]:
    """(UTC instant, time zone name) from a Graph ``{"dateTime", "timeZone"}`` object.

    ``dateTime`` is local time in ``timeZone``; an explicit offset inside it wins.
    Raises ``BadDateTime`` or ``BadTimeZone``.
    """
    if not isinstance(value, dict) or not isinstance(value.get("dateTime"), str):
        raise BadDateTime(repr(value))
    name = value.get("timeZone") or "UTC"
    if not isinstance(name, str):
        raise BadTimeZone(repr(name))
    tz = zone(name)
    try:
        local = datetime.fromisoformat(_trim_fraction(value["dateTime"].strip()))
    except ValueError:
        raise BadDateTime(value["dateTime"])
    if local.tzinfo is None:
        local = local.replace(tzinfo=tz)
    return _to_utc(local, value["dateTime"]), name


def _to_utc(moment: datetime, text: str) -> datetime:
    """``moment`` in UTC; ``BadDateTime`` when that falls outside years 1-9999."""
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise BadDateTime(text) from None


def format_date_time_time_zone(instant: datetime, zone_name: str) -> dict[str, str]:
    """Graph's shape for ``instant`` shown in the zone ``zone_name``."""
    local = instant.astimezone(zone(zone_name)).replace(tzinfo=None)
    return {"dateTime": local.strftime(GRAPH_DATETIME_FORMAT), "timeZone": zone_name}


def format_utc(instant: datetime) -> str:
    """``2026-01-05T09:00:00Z`` style, for createdDateTime and friends."""
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f0Z")


def _trim_fraction(text: str) -> str:
    """Python reads at most six fractional digits; Graph writes seven."""
    text = text.replace("Z", "+00:00")
    if "." not in text:
        return text
    head, _, tail = text.partition(".")
    digits = ""
    while tail and tail[0].isdigit():
        digits, tail = digits + tail[0], tail[1:]
    return f"{head}.{digits[:6].ljust(6, '0')}{tail}"
