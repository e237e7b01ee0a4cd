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


def is_time_zone(name: str) -> bool:
    return name in zoneinfo.available_timezones()
