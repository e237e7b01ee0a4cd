"""Time zone choices shared by every form that asks for one."""

from __future__ import annotations

import functools
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
