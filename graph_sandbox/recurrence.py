"""Recurring series as Graph describes them: ``patternedRecurrence`` read, checked, echoed
and expanded into occurrences.

A ``patternedRecurrence`` is a ``pattern`` (how often: daily, weekly on some days,
absoluteMonthly on a day of the month, relativeMonthly on "the second Tuesday",
absoluteYearly, relativeYearly; every ``interval`` days/weeks/months/years) and a
``range`` (from ``startDate``, until ``endDate`` inclusive, ``numbered`` times, or with
``noEnd``; those dates read in ``recurrenceTimeZone``, else the event's zone). Each
occurrence keeps the series' local start time and duration in the event's start time
zone, so a 09:00 London stand-up stays at 09:00 local across a DST change (its UTC
time moves). The patterns map onto RFC 5545 rules; python-dateutil's ``rrule``
expands them.

Occurrence ids are stable and name their series and original start: the series
master's id (without its ``=``) + ``OCC_TAG`` + the original start in UTC, base64url,
+ ``=``; ``occurrence_id_parse`` reads one back.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from dateutil import rrule

from graph_sandbox.graph.errors import GraphError
from graph_sandbox.timefmt import BadTimeZone, zone

PATTERN_TYPES = (
    "daily",
    "weekly",
    "absoluteMonthly",
    "relativeMonthly",
    "absoluteYearly",
    "relativeYearly",
)
RANGE_TYPES = ("endDate", "noEnd", "numbered")
DAYS = ("sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday")
INDEXES = ("first", "second", "third", "fourth", "last")
_RRULE_DAYS = {
    "sunday": rrule.SU,
    "monday": rrule.MO,
    "tuesday": rrule.TU,
    "wednesday": rrule.WE,
    "thursday": rrule.TH,
    "friday": rrule.FR,
    "saturday": rrule.SA,
}
_SET_POS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "last": -1}
_NO_DATE = "0001-01-01"
# Outlook keeps at most this many occurrences in a numbered range (999).
MAX_NUMBERED = 999
OCC_TAG = "ADEAAAA"
# ``last_end`` walks at most this many occurrences (a daily series until 9999 has millions).
LAST_END_SCAN = 20_000
_OCC_STAMP = "%Y%m%dT%H%M%S"
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def invalid(message: str) -> GraphError:
    return GraphError(400, "ErrorInvalidRequest", message)


def _cannot_convert(value: object, edm: str) -> GraphError:
    return GraphError(
        400,
        "RequestBodyRead",
        f"Cannot convert the literal '{value}' to the expected type '{edm}'.",
    )


# --- reading a request's recurrence -----------------------------------------------------------


def recurrence_read(value: object, *, start: datetime, start_time_zone: str) -> dict:
    """The stored (and echoed) ``patternedRecurrence`` for a request's ``recurrence``.

    ``start`` (UTC) and ``start_time_zone`` are the event's; Graph's 400s for what it
    would refuse.
    """
    if not isinstance(value, dict):
        raise _cannot_convert(value, "microsoft.graph.patternedRecurrence")
    _known_only(value, ("pattern", "range"), "microsoft.graph.patternedRecurrence")
    pattern = _pattern_read(value.get("pattern"))
    series_range = _range_read(value.get("range"), start_time_zone=start_time_zone)
    local_start = start.astimezone(zone(start_time_zone)).date()
    if series_range["startDate"] != local_start.isoformat():
        # "Must be the same value as the start property of the recurring event."
        raise invalid(
            "The recurrence range's startDate must be the same date as the event's start."
        )
    return {"pattern": pattern, "range": series_range}


def _known_only(value: dict, known: tuple[str, ...], type_name: str) -> None:
    """Graph's 400 for a property ``type_name`` does not have (annotations ``@…`` pass)."""
    for key in value:
        if key not in known and not key.startswith("@"):
            raise GraphError(
                400,
                "RequestBodyRead",
                f"The property '{key}' does not exist on type '{type_name}'. Make sure to "
                "only use property names that are defined by the type or mark the type as "
                "open type.",
            )


def _int(body: dict, name: str, default: int) -> int:
    value = body.get(name, default)
    if value is None:
        return default
    if not isinstance(value, int) or isinstance(value, bool) or not -(2**31) <= value < 2**31:
        raise _cannot_convert(value, "Edm.Int32")
    return value


def _enum(body: dict, name: str, allowed: tuple[str, ...], edm: str, default: str) -> str:
    value = body.get(name)
    if value is None:
        return default
    if value not in allowed:
        raise _cannot_convert(value, edm)
    return value


def _pattern_read(value: object) -> dict:
    if not isinstance(value, dict):
        raise invalid("The recurrence pattern is missing.")
    known = ("type", "interval", "month", "dayOfMonth", "daysOfWeek", "firstDayOfWeek", "index")
    _known_only(value, known, "microsoft.graph.recurrencePattern")
    kind = value.get("type")
    if kind is None:
        raise invalid("The recurrence pattern type is missing.")
    if kind not in PATTERN_TYPES:
        raise _cannot_convert(kind, "microsoft.graph.recurrencePatternType")
    days = value.get("daysOfWeek") or []
    if not isinstance(days, list):
        raise _cannot_convert(days, "Collection(microsoft.graph.dayOfWeek)")
    for day in days:
        if day not in DAYS:
            raise _cannot_convert(day, "microsoft.graph.dayOfWeek")
    pattern = {
        "type": kind,
        "interval": _int(value, "interval", 0),
        "month": _int(value, "month", 0),
        "dayOfMonth": _int(value, "dayOfMonth", 0),
        "daysOfWeek": sorted(set(days), key=DAYS.index),
        "firstDayOfWeek": _enum(
            value, "firstDayOfWeek", DAYS, "microsoft.graph.dayOfWeek", "sunday"
        ),
        "index": _enum(value, "index", INDEXES, "microsoft.graph.weekIndex", "first"),
    }
    if not 1 <= pattern["interval"] <= 999:
        raise invalid("The recurrence pattern's interval must be between 1 and 999.")
    if kind in ("weekly", "relativeMonthly", "relativeYearly") and not pattern["daysOfWeek"]:
        raise invalid(f"A {kind} recurrence pattern needs daysOfWeek.")
    if kind in ("absoluteMonthly", "absoluteYearly") and not 1 <= pattern["dayOfMonth"] <= 31:
        raise invalid(f"A {kind} recurrence pattern needs a dayOfMonth between 1 and 31.")
    if kind in ("absoluteYearly", "relativeYearly") and not 1 <= pattern["month"] <= 12:
        raise invalid(f"A {kind} recurrence pattern needs a month between 1 and 12.")
    if kind == "absoluteYearly" and pattern["dayOfMonth"] > _days_in(pattern["month"]):
        raise invalid("The recurrence pattern's dayOfMonth does not exist in its month.")
    return pattern


def _days_in(month: int) -> int:
    return (date(2000 + (month == 12), month % 12 + 1, 1) - timedelta(days=1)).day


def _range_read(value: object, *, start_time_zone: str) -> dict:
    if not isinstance(value, dict):
        raise invalid("The recurrence range is missing.")
    known = ("type", "startDate", "endDate", "numberOfOccurrences", "recurrenceTimeZone")
    _known_only(value, known, "microsoft.graph.recurrenceRange")
    kind = value.get("type")
    if kind is None:
        raise invalid("The recurrence range type is missing.")
    if kind not in RANGE_TYPES:
        raise _cannot_convert(kind, "microsoft.graph.recurrenceRangeType")
    start_date = _date(value.get("startDate"), required=True)
    end_date = _date(value.get("endDate"), required=kind == "endDate")
    count = _int(value, "numberOfOccurrences", 0)
    time_zone = value.get("recurrenceTimeZone") or start_time_zone
    if not isinstance(time_zone, str):
        raise _cannot_convert(time_zone, "Edm.String")
    try:
        zone(time_zone)
    except BadTimeZone:
        raise GraphError(
            400,
            "TimeZoneNotSupportedException",
            "A valid TimeZone value must be specified. The following TimeZone value is not "
            f"supported: '{time_zone}'.",
        )
    if kind == "endDate" and end_date < start_date:
        raise GraphError(
            400,
            "ErrorCalendarEndDateIsEarlierThanStartDate",
            "The end date of the recurrence range occurs before its start date.",
        )
    if kind == "numbered" and not 1 <= count <= MAX_NUMBERED:
        raise invalid(
            f"A numbered recurrence range needs numberOfOccurrences between 1 and {MAX_NUMBERED}."
        )
    return {
        "type": kind,
        "startDate": start_date.isoformat(),
        "endDate": end_date.isoformat() if kind == "endDate" else _NO_DATE,
        "recurrenceTimeZone": time_zone,
        "numberOfOccurrences": count if kind == "numbered" else 0,
    }


def _date(value: object, *, required: bool) -> date:
    if value is None or value == "":
        if required:
            raise invalid("The recurrence range needs a startDate (and an endDate for endDate).")
        return date.min
    if not isinstance(value, str) or not _DATE.match(value):
        raise _cannot_convert(value, "Edm.Date")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise _cannot_convert(value, "Edm.Date") from None


# --- expanding a series ------------------------------------------------------------------------


@dataclass(frozen=True)
class Occurrence:
    original_start: datetime  # UTC; names the occurrence
    start: datetime  # UTC
    end: datetime  # UTC


def _rule(recurrence: dict, first: datetime, tz) -> rrule.rrule:
    """The rrule for ``recurrence`` from ``first``, a naive local start date-time in
    ``tz`` (the event's zone); the range's ``endDate`` ends at midnight in its
    ``recurrenceTimeZone``."""
    pattern, series_range = recurrence["pattern"], recurrence["range"]
    kind = pattern["type"]
    options: dict = {
        "dtstart": first,
        "interval": pattern["interval"],
        "wkst": _RRULE_DAYS[pattern["firstDayOfWeek"]],
    }
    days = [_RRULE_DAYS[d] for d in pattern["daysOfWeek"]]
    if kind == "daily":
        freq = rrule.DAILY
    elif kind == "weekly":
        freq, options["byweekday"] = rrule.WEEKLY, days
    elif kind in ("absoluteMonthly", "absoluteYearly"):
        freq = rrule.MONTHLY if kind == "absoluteMonthly" else rrule.YEARLY
        day = pattern["dayOfMonth"]
        if kind == "absoluteYearly":
            options["bymonth"] = pattern["month"]
        if day > 28:
            # Outlook puts "day 31" on the last day of a shorter month.
            options["bymonthday"], options["bysetpos"] = (day, -1), 1
        else:
            options["bymonthday"] = day
    else:
        freq = rrule.MONTHLY if kind == "relativeMonthly" else rrule.YEARLY
        if kind == "relativeYearly":
            options["bymonth"] = pattern["month"]
        options["byweekday"], options["bysetpos"] = days, _SET_POS[pattern["index"]]
    if series_range["type"] == "numbered":
        options["count"] = series_range["numberOfOccurrences"]
    elif series_range["type"] == "endDate":
        range_zone = zone(series_range.get("recurrenceTimeZone") or "UTC")
        last_day = date.fromisoformat(series_range["endDate"])
        until = datetime.combine(last_day, time.max, tzinfo=range_zone)
        try:
            options["until"] = until.astimezone(tz).replace(tzinfo=None)
        except OverflowError:
            options["until"] = until.replace(tzinfo=None)
    return rrule.rrule(freq, **options)


def occurrences(
    recurrence: dict,
    *,
    first_start: datetime,
    duration: timedelta,
    time_zone: str,
    window_start: datetime | None = None,
    window_end: datetime | None = None,
    limit: int = 5000,
) -> list[Occurrence]:
    """The series' occurrences overlapping [window_start, window_end) (UTC), earliest first.

    ``first_start`` (UTC) gives the local time of day; the pattern starts on the range's
    ``startDate``. Local times that a DST change skips or repeats are read as Python's
    ``fold=0`` reads them. Overlapping means starting before the window's end and
    ending after its start, as for single events.
    """
    tz = zone(time_zone)
    local_time = first_start.astimezone(tz).time().replace(tzinfo=None)
    start_date = date.fromisoformat(recurrence["range"]["startDate"])
    first = datetime.combine(start_date, local_time)
    if window_start is not None and recurrence["range"]["type"] != "numbered":
        try:
            day = (window_start - duration).astimezone(tz).date()
            first = _period_start_before(recurrence, first, day)
        except (OverflowError, ValueError):  # a window at the calendar's ends: walk it all
            pass
    rule = _rule(recurrence, first, tz)
    found: list[Occurrence] = []
    for local in rule:
        try:
            instant = local.replace(tzinfo=tz).astimezone(UTC)
            end = instant + duration
        except OverflowError:  # the end of the calendar (year 9999)
            break
        if window_end is not None and instant >= window_end:
            break
        if window_start is not None and end <= window_start:
            continue
        found.append(Occurrence(original_start=instant, start=instant, end=end))
        if len(found) >= limit:
            break
    return found


def _period_start_before(recurrence: dict, first: datetime, day: date) -> datetime:
    """Where to start expanding so that everything from ``day`` on comes out as it would
    from the series' own start ``first`` (naive local), without walking the periods in
    between: the start of the last whole period of the pattern (its ``interval`` days,
    weeks from ``firstDayOfWeek``, months or years) that begins at least two days before
    ``day`` (a margin for the zone's offset), or ``first`` when that is no later.

    The pattern's phase is kept (a whole number of intervals from the series' first
    period), and a period's start is at or before all of its occurrences, so none from
    that period on is lost. A numbered range counts from its start and is never moved
    (it ends after at most 999 occurrences anyway); an ``endDate`` range still ends
    where it ends."""
    pattern = recurrence["pattern"]
    kind, interval = pattern["type"], pattern["interval"]
    target = datetime.combine(day - timedelta(days=2), first.time())
    if target <= first:
        return first
    if kind == "daily":
        periods = (target - first).days // interval
        return first + timedelta(days=periods * interval)
    if kind == "weekly":
        week_start = DAYS.index(pattern["firstDayOfWeek"])  # 0 = Sunday
        back = (first.isoweekday() % 7 - week_start) % 7
        first_week = first - timedelta(days=back)
        periods = (target - first_week).days // (7 * interval)
        moved = first_week + timedelta(days=periods * 7 * interval)
    elif kind in ("absoluteMonthly", "relativeMonthly"):
        months = (target.year - first.year) * 12 + target.month - first.month
        month = first.month - 1 + months // interval * interval
        moved = first.replace(year=first.year + month // 12, month=month % 12 + 1, day=1)
    else:
        years = (target.year - first.year) // interval * interval
        moved = first.replace(year=first.year + years, month=1, day=1)
    return moved if moved > first else first


def first_occurrence(
    recurrence: dict, *, first_start: datetime, duration: timedelta, time_zone: str
) -> Occurrence | None:
    found = occurrences(
        recurrence, first_start=first_start, duration=duration, time_zone=time_zone, limit=1
    )
    return found[0] if found else None


def last_end(
    recurrence: dict, *, first_start: datetime, duration: timedelta, time_zone: str
) -> datetime | None:
    """When the series' last occurrence ends (UTC); None for a series without an end."""
    if recurrence["range"]["type"] == "noEnd":
        return None
    tz = zone(time_zone)
    local_time = first_start.astimezone(tz).time().replace(tzinfo=None)
    start_date = date.fromisoformat(recurrence["range"]["startDate"])
    rule = _rule(recurrence, datetime.combine(start_date, local_time), tz)
    last = None
    for seen, local in enumerate(rule):  # bounded by count or until
        if seen >= LAST_END_SCAN:
            return None  # an end that far away: treated as none (windows still stop it)
        last = local
    if last is None:
        return None
    try:
        return last.replace(tzinfo=tz).astimezone(UTC) + duration
    except OverflowError:
        return None


# --- occurrence ids ----------------------------------------------------------------------------


def occurrence_id(master_id: str, original_start: datetime) -> str:
    stamp = original_start.astimezone(UTC).strftime(_OCC_STAMP).encode()
    encoded = base64.urlsafe_b64encode(stamp).rstrip(b"=").decode()
    return f"{master_id.rstrip('=')}{OCC_TAG}{encoded}="


_ENCODED_LEN = len(base64.urlsafe_b64encode(b"20260101T000000").rstrip(b"="))


def occurrence_id_parse(value: str) -> tuple[str, datetime] | None:
    """(series master id, original start in UTC) from an occurrence id; None if not one."""
    tail = _ENCODED_LEN + 1
    if len(value) <= tail + len(OCC_TAG) or not value.endswith("="):
        return None
    if value[-tail - len(OCC_TAG) : -tail] != OCC_TAG:
        return None
    encoded = value[-tail:-1]
    try:
        stamp = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
        original = datetime.strptime(stamp, _OCC_STAMP).replace(tzinfo=UTC)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    return value[: -tail - len(OCC_TAG)] + "=", original
