"""IANA time zones as the Windows names Graph's event methods accept.

Graph's ``dateTimeTimeZone`` takes Windows zone names everywhere; IANA names
only partly ("methods such as create or update might not support all"). So an
event is sent in its own zone when we know that zone's Windows name (the
mappings below follow CLDR's ``windowsZones``: the Windows zone with the same
rules today), and in UTC otherwise, which every method accepts.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

try:  # CLDR's whole windowsZones table ("001" territory), as icalendar ships it
    from icalendar.timezone.windows_to_olson import WINDOWS_TO_OLSON as _CLDR
except ImportError:  # pragma: no cover (icalendar is a requirement; the module may move)
    _CLDR = {}

_WINDOWS_TO_IANA: dict[str, tuple[str, ...]] = {
    "UTC": ("UTC", "Etc/UTC", "Etc/GMT", "GMT"),
    "GMT Standard Time": (
        "Europe/London",
        "Europe/Dublin",
        "Europe/Lisbon",
        "Atlantic/Canary",
        "Atlantic/Faroe",
        "Atlantic/Madeira",
        "Europe/Guernsey",
        "Europe/Isle_of_Man",
        "Europe/Jersey",
    ),
    "Greenwich Standard Time": (
        "Atlantic/Reykjavik",
        "Africa/Abidjan",
        "Africa/Accra",
        "Africa/Dakar",
        "Africa/Bamako",
        "Atlantic/St_Helena",
    ),
    "W. Europe Standard Time": (
        "Europe/Berlin",
        "Europe/Amsterdam",
        "Europe/Andorra",
        "Europe/Gibraltar",
        "Europe/Luxembourg",
        "Europe/Malta",
        "Europe/Monaco",
        "Europe/Oslo",
        "Europe/Rome",
        "Europe/San_Marino",
        "Europe/Stockholm",
        "Europe/Vaduz",
        "Europe/Vatican",
        "Europe/Vienna",
        "Europe/Zurich",
        "Europe/Busingen",
        "Arctic/Longyearbyen",
    ),
    "Central Europe Standard Time": (
        "Europe/Budapest",
        "Europe/Belgrade",
        "Europe/Bratislava",
        "Europe/Ljubljana",
        "Europe/Podgorica",
        "Europe/Prague",
        "Europe/Tirane",
    ),
    "Central European Standard Time": (
        "Europe/Warsaw",
        "Europe/Sarajevo",
        "Europe/Skopje",
        "Europe/Zagreb",
    ),
    "Romance Standard Time": (
        "Europe/Paris",
        "Europe/Brussels",
        "Europe/Copenhagen",
        "Europe/Madrid",
    ),
    "GTB Standard Time": ("Europe/Bucharest", "Europe/Athens", "Asia/Nicosia", "Asia/Famagusta"),
    "FLE Standard Time": (
        "Europe/Kiev",
        "Europe/Kyiv",
        "Europe/Helsinki",
        "Europe/Mariehamn",
        "Europe/Riga",
        "Europe/Sofia",
        "Europe/Tallinn",
        "Europe/Vilnius",
    ),
    "E. Europe Standard Time": ("Europe/Chisinau",),
    "Russian Standard Time": ("Europe/Moscow", "Europe/Simferopol", "Europe/Kirov"),
    "Turkey Standard Time": ("Europe/Istanbul", "Asia/Istanbul"),
    "Israel Standard Time": ("Asia/Jerusalem", "Asia/Tel_Aviv"),
    "South Africa Standard Time": (
        "Africa/Johannesburg",
        "Africa/Harare",
        "Africa/Maputo",
        "Africa/Lusaka",
        "Africa/Gaborone",
        "Africa/Maseru",
        "Africa/Mbabane",
    ),
    "Egypt Standard Time": ("Africa/Cairo",),
    "Arabian Standard Time": ("Asia/Dubai", "Asia/Muscat"),
    "Arab Standard Time": ("Asia/Riyadh", "Asia/Kuwait", "Asia/Aden", "Asia/Qatar", "Asia/Bahrain"),
    "Iran Standard Time": ("Asia/Tehran",),
    "Pakistan Standard Time": ("Asia/Karachi",),
    "India Standard Time": ("Asia/Kolkata", "Asia/Calcutta"),
    "Nepal Standard Time": ("Asia/Kathmandu", "Asia/Katmandu"),
    "Bangladesh Standard Time": ("Asia/Dhaka",),
    "SE Asia Standard Time": (
        "Asia/Bangkok",
        "Asia/Jakarta",
        "Asia/Ho_Chi_Minh",
        "Asia/Saigon",
        "Asia/Phnom_Penh",
        "Asia/Vientiane",
    ),
    "China Standard Time": ("Asia/Shanghai", "Asia/Hong_Kong", "Asia/Macau"),
    "Singapore Standard Time": (
        "Asia/Singapore",
        "Asia/Kuala_Lumpur",
        "Asia/Manila",
        "Asia/Makassar",
        "Asia/Brunei",
    ),
    "Taipei Standard Time": ("Asia/Taipei",),
    "Tokyo Standard Time": ("Asia/Tokyo",),
    "Korea Standard Time": ("Asia/Seoul",),
    "W. Australia Standard Time": ("Australia/Perth",),
    "Cen. Australia Standard Time": ("Australia/Adelaide", "Australia/Broken_Hill"),
    "AUS Eastern Standard Time": ("Australia/Sydney", "Australia/Melbourne", "Australia/Canberra"),
    "E. Australia Standard Time": ("Australia/Brisbane", "Australia/Lindeman"),
    "New Zealand Standard Time": ("Pacific/Auckland", "Antarctica/McMurdo"),
    "Hawaiian Standard Time": ("Pacific/Honolulu",),
    "Alaskan Standard Time": ("America/Anchorage", "America/Juneau", "America/Sitka"),
    "Pacific Standard Time": ("America/Los_Angeles", "America/Vancouver"),
    "US Mountain Standard Time": ("America/Phoenix",),
    "Mountain Standard Time": ("America/Denver", "America/Edmonton", "America/Boise"),
    "Central Standard Time": ("America/Chicago", "America/Winnipeg"),
    "Canada Central Standard Time": ("America/Regina",),
    "Central America Standard Time": (
        "America/Guatemala",
        "America/Costa_Rica",
        "America/El_Salvador",
        "America/Tegucigalpa",
        "America/Managua",
    ),
    "Central Standard Time (Mexico)": (
        "America/Mexico_City",
        "America/Monterrey",
        "America/Merida",
    ),
    "Eastern Standard Time": ("America/New_York", "America/Toronto", "America/Detroit"),
    "US Eastern Standard Time": ("America/Indiana/Indianapolis", "America/Indianapolis"),
    "SA Pacific Standard Time": (
        "America/Bogota",
        "America/Lima",
        "America/Panama",
        "America/Jamaica",
        "America/Guayaquil",
    ),
    "Atlantic Standard Time": ("America/Halifax", "Atlantic/Bermuda"),
    "Newfoundland Standard Time": ("America/St_Johns",),
    "E. South America Standard Time": ("America/Sao_Paulo",),
    "Argentina Standard Time": ("America/Argentina/Buenos_Aires", "America/Buenos_Aires"),
    "Pacific SA Standard Time": ("America/Santiago",),
}

IANA_TO_WINDOWS: dict[str, str] = {
    iana: windows for windows, zones in _WINDOWS_TO_IANA.items() for iana in zones
}


def windows_zone(iana: str) -> str | None:
    """The Windows name Graph accepts for the IANA zone ``iana``, or None if we know none."""
    return IANA_TO_WINDOWS.get(iana)


# Names of UTC itself: Windows' display name, and the "tzone://" form Outlook gives an
# event made in UTC (seen for ``originalStartTimeZone``).
_UTC_NAMES = frozenset(
    {"utc", "etc/utc", "gmt", "coordinated universal time", "tzone://microsoft/utc"}
)


def iana_zone(name: str) -> str:
    """The IANA zone for a Windows zone name Graph may write in ``timeZone`` (its own
    examples say "Pacific Standard Time"); any other name as it is."""
    key = name.strip()
    zones = _WINDOWS_TO_IANA.get(key)
    if zones:
        return zones[0]
    return _CLDR.get(key, name)


def zone_named(name: str) -> ZoneInfo | None:
    """The zone Graph names in a ``timeZone`` (Windows or IANA), or None when the name
    tells no rules: "tzone://Microsoft/Custom" (Microsoft's event resource: "a legacy
    custom time zone was set in desktop Outlook"), "Customized Time Zone", or any word
    we do not know."""
    key = name.strip()
    if key.lower() in _UTC_NAMES:
        return ZoneInfo("UTC")
    if not key or key.startswith("tzone://") or len(key) > 100:
        return None
    try:
        return ZoneInfo(iana_zone(key))
    except (ZoneInfoNotFoundError, ValueError):
        return None
