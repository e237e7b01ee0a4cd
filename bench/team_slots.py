"""What a team page's slots cost next to one member's: 10-member round-robin, 31 days.

    .venv/bin/python -m bench.team_slots [--members 10] [--busy 150] [--runs 15]
        [--database-url postgres://…/an_empty_database]

A throw-away product (SQLite under a temporary VAR_DIR, or the empty PostgreSQL
database given). Each member has a connected
account whose default calendar holds ``--busy`` busy intervals over the next 31 days,
and a handful of bookings on their own page. Both pages are open 8:00-20:00 every
day with 30-minute meetings every 15 minutes. Measured, for the whole window:

* ``page_slots`` as the public API calls it (queries + engine) for one member's own
  page, and for a round-robin and a collective page of all the members, and a
  round-robin page that uses each member's own working hours (the same 8:00-20:00);
* the pure engine alone: ``available_slots`` for one member and ``team_slots`` for all.

The issue's bar: the 10-member round-robin page costs at most 3 x one member's.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from datetime import time as wall
from datetime import timedelta

from bench._calendar import start_product

DAYS = 31
OPEN_HOURS = [(weekday, wall(8), wall(20)) for weekday in range(7)]
PAGE_FIELDS = {
    "duration_minutes": 30,
    "increment_minutes": 15,
    "minimum_notice_minutes": 0,
    "horizon_days": DAYS,
    "time_zone": "Europe/London",
}


def build(members: int, busy: int):
    """The members (first one the admin), their calendars and pages; (own page, rr, collective)."""
    from django.utils import timezone

    from accounts.models import Membership, Role, User
    from accounts.services import organization_create_for
    from booking.models import Booking
    from booking.services.pages import page_create
    from booking.services.teams import Seat, team_page_create
    from calendars.models import BusyInterval, Calendar, CalendarConnection

    rng = random.Random(members * 1000 + busy)
    now = timezone.now()
    users = []
    for number in range(members):
        user = User.objects.create_user(
            f"member{number}@example.com", None, name=f"Member {number}"
        )
        users.append(user)
        connection = CalendarConnection.objects.create(
            host=user, provider="office365", account_id=f"m{number}", account_email=user.email
        )
        calendar = Calendar.objects.create(
            connection=connection, remote_id=f"C{number}", name="Calendar", is_default=True
        )
        BusyInterval.objects.bulk_create(
            BusyInterval(
                calendar=calendar,
                remote_event_id=f"E{number}-{n}",
                start=(start := now + timedelta(minutes=rng.randrange(60, DAYS * 1440))),
                end=start + timedelta(minutes=rng.choice((15, 30, 60, 90))),
            )
            for n in range(busy)
        )
    organization = organization_create_for(user=users[0], name="Bench").organization
    for user in users[1:]:
        Membership.objects.create(organization=organization, user=user, role=Role.MEMBER)
    own = page_create(
        host=users[0], fields={"title": "Own", "slug": "own", **PAGE_FIELDS}, hours=OPEN_HOURS
    )
    for number, user in enumerate(users):
        mine = (
            own
            if number == 0
            else page_create(
                host=user,
                fields={"title": "Own", "slug": f"own-{number}", **PAGE_FIELDS},
                hours=OPEN_HOURS,
            )
        )
        for day in range(1, DAYS, 3):
            start = (now + timedelta(days=day)).replace(
                hour=9 + number % 8, minute=0, second=0, microsecond=0
            )
            Booking.objects.create(
                page=mine,
                host=user,
                title="Own",
                start=start,
                end=start + timedelta(minutes=30),
                invitee_name="I",
                invitee_email="i@example.com",
                invitee_time_zone="UTC",
            )
    seats = [Seat(user_id=user.pk) for user in users]
    pages = {}
    for kind in ("round_robin", "collective"):
        pages[kind] = team_page_create(
            admin=users[0],
            organization=organization,
            kind=kind,
            fields={"title": kind, "slug": kind.replace("_", "-"), **PAGE_FIELDS},
            seats=seats,
        )
        # team_page_create takes the rules' defaults; open the same hours as ``own``.
        from booking.models import WeeklyHours

        pages[kind].weekly_hours.all().delete()
        WeeklyHours.objects.bulk_create(
            WeeklyHours(page=pages[kind], weekday=d, start=s, end=e) for d, s, e in OPEN_HOURS
        )
    # A round-robin page that uses each member's own working hours (the same 8:00-20:00,
    # saved as every member's MemberHours in their own zone, London here).
    from booking.models import HoursSource, MemberHours

    pages["members_hours"] = team_page_create(
        admin=users[0],
        organization=organization,
        kind="round_robin",
        fields={
            "title": "members' hours",
            "slug": "members-hours",
            "hours_source": HoursSource.MEMBERS,
            **PAGE_FIELDS,
        },
        seats=seats,
    )
    MemberHours.objects.bulk_create(
        MemberHours(user=user, weekday=d, start=s, end=e)
        for user in users
        for d, s, e in OPEN_HOURS
    )
    return own, pages["round_robin"], pages["collective"], pages["members_hours"]


def timed(calls: dict[str, object], runs: int) -> dict[str, tuple[float, float, int]]:
    """Each call's best and median milliseconds over ``runs`` rounds, and its answer's size.

    The calls take turns within each round, so a burst of load on this shared machine
    hits them all alike; the best time is the least disturbed one.
    """
    times: dict[str, list[float]] = {name: [] for name in calls}
    sizes: dict[str, int] = {}
    for _ in range(runs):
        for name, call in calls.items():
            began = time.perf_counter()
            sizes[name] = len(call())
            times[name].append((time.perf_counter() - began) * 1000)
    return {name: (min(t), statistics.median(t), sizes[name]) for name, t in times.items()}


def report(members: int, busy: int, runs: int) -> None:
    from django.utils import timezone

    from booking.selectors import _members_time, page_rules_for, page_slots, team_seats_for
    from booking.slots import available_slots, team_slots

    own, round_robin, collective, members_hours = build(members, busy)
    now = timezone.now()
    window = {"start": now, "end": now + timedelta(days=DAYS), "now": now}
    # The engine alone, on exactly the data the selectors load.
    ids = [seat.user_id for seat in team_seats_for(page=round_robin)]
    margin = timedelta(days=2)
    people, page_bookings = _members_time(
        page=round_robin,
        user_ids=ids,
        start=now - margin,
        end=now + timedelta(days=DAYS) + margin,
        exclude_pk=None,
    )
    rules = page_rules_for(page=round_robin)
    first = people[ids[0]]
    first_busy = [*first.busy, *first.bookings]
    pages = timed(
        {
            "page_slots: one member's own page": lambda: page_slots(page=own, **window),
            "page_slots: round-robin page": lambda: page_slots(page=round_robin, **window),
            "page_slots: collective page": lambda: page_slots(page=collective, **window),
            "page_slots: round-robin page, members' own hours": lambda: page_slots(
                page=members_hours, **window
            ),
        },
        runs,
    )
    engine = timed(
        {
            "engine: available_slots, one member": lambda: available_slots(
                rules=rules, busy=first_busy, bookings=[], **window
            ),
            "engine: team_slots, round-robin (listing)": lambda: team_slots(
                rules=rules,
                members=people,
                page_bookings=page_bookings,
                everyone=False,
                name_free=False,
                **window,
            ),
            "engine: team_slots, round-robin (naming every free member)": lambda: team_slots(
                rules=rules, members=people, page_bookings=page_bookings, everyone=False, **window
            ),
        },
        runs,
    )
    print(f"{members} members, {busy} busy intervals each over {DAYS} days, {runs} rounds")
    print("| what | members | slots | ms: best (median) | best x one member's |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for table in (pages, engine):
        reference = next(iter(table.values()))[0]
        for label, (best, median, size) in table.items():
            count = 1 if "one member" in label else members
            ratio = best / reference
            print(f"| {label} | {count} | {size} | {best:.1f} ({median:.1f}) | {ratio:.2f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=10)
    parser.add_argument("--busy", type=int, default=150, help="busy intervals per member")
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument(
        "--database-url",
        default="",
        help="an empty PostgreSQL database to use instead of a temporary SQLite file",
    )
    args = parser.parse_args()
    extra = {"DATABASE_URL": args.database_url} if args.database_url else {}
    with tempfile.TemporaryDirectory(prefix="team-slots-bench-") as var_dir:
        product = start_product(var_dir, **extra)
        try:
            report(args.members, args.busy, args.runs)
        finally:
            product.stop()


if __name__ == "__main__":
    main()
