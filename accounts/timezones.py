"""Time zone choices shared by every form that asks for one."""

from __future__ import annotations

import functools
import re
import zoneinfo


@functools.cache
def time_zone_names() -> tuple[str, ...]:
    """IANA zone names people pick from: Area/City names plus UTC, sorted."""
    names = {
        name
        for name in zoneinfo.available_timezones()
        if "/" in name and not name.startswith(("Etc/", "SystemV/", "US/", "posix/", "right/"))
    }
    names.add("UTC")
    return tuple(sorted(names))


def time_zone_choices() -> list[tuple[str, str]]:
    return [(name, name.replace("_", " ")) for name in time_zone_names()]


@functools.cache
def _known_zones() -> frozenset[str]:
    # available_timezones() walks the zone files on every call (about 5 ms). "localtime"
    # is a copy of the server's own zone found among them, not an IANA name.
    return frozenset(zoneinfo.available_timezones() - {"localtime"})


def is_time_zone(name: str) -> bool:
    """Whether ``name`` is an IANA time zone this machine knows."""
    return name in _known_zones()


@functools.lru_cache(maxsize=8)
def time_zone_entries(locale: str) -> tuple[dict[str, str], ...]:
    """Every zone people pick from, with what its picker shows and searches, in ``locale``:
    ``id`` (IANA), ``name`` ("Eastern Time"), ``city`` ("New York"), ``country`` ("United
    States") and ``abbr`` ("ET", when CLDR has a short name). Offsets and the current local
    time change, so the browser adds them (static/js/zone_picker.js)."""
    from babel import Locale
    from babel.core import get_global
    from babel.dates import get_timezone_location, get_timezone_name

    babel_locale = Locale.parse(locale.replace("-", "_"))
    territories = get_global("zone_territories")
    entries = []
    for zone in time_zone_names():
        if zone == "UTC":
            utc = babel_locale.time_zones.get("Etc/UTC", {}).get("long", {})
            name = str(utc.get("standard", "")) or "UTC"
            entries.append({"id": zone, "name": name, "city": "", "country": "", "abbr": "UTC"})
            continue
        name = get_timezone_name(zone, "long", "generic", locale=babel_locale)
        short = get_timezone_name(zone, "short", "generic", locale=babel_locale)
        city = get_timezone_location(zone, locale=babel_locale, return_city=True)
        if "/" in city:  # no exemplar city in CLDR: the zone's own last part
            city = zone.rsplit("/", 1)[-1].replace("_", " ")
        # Zones without a CLDR name read "Argentina (Argentina/Buenos Aires) Time".
        name = re.sub(r"\([^()]*/[^()]*\)", f"({city})", name)
        territory = territories.get(zone, "")
        country = babel_locale.territories.get(territory, "") if territory else ""
        entries.append(
            {
                "id": zone,
                "name": name,
                "city": city,
                "country": country,
                "abbr": short if len(short) <= 5 and short != name else "",
            }
        )
    return tuple(_without_old_names(entries))


def _without_old_names(entries: list[dict[str, str]]) -> list[dict[str, str]]:
    """One entry per place: IANA keeps old names (Asia/Calcutta) beside today's
    (Asia/Kolkata), and CLDR names both alike. Keep the id that ends with the city,
    the longest of them (America/Indiana/Indianapolis over America/Indianapolis)."""
    groups: dict[tuple[str, str], list[dict[str, str]]] = {}
    for entry in entries:
        groups.setdefault((entry["name"], entry["city"]), []).append(entry)
    kept = set()
    for group in groups.values():

        def fits(entry: dict[str, str]) -> tuple[bool, int]:
            last = entry["id"].rsplit("/", 1)[-1].replace("_", " ")
            return (last == entry["city"], len(entry["id"]))

        kept.add(max(group, key=fits)["id"])
    return [entry for entry in entries if entry["id"] in kept]
