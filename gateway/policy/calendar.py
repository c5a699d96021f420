"""Working days of a UK organisation: bank holidays, closure days and opening hours.

Every deadline the gateway promises is counted here, so this module is pure (no I/O, no
clock) and all times are aware and in Europe/London. The counting convention:

* a message that arrives on a working day before closing time is received that day;
* one that arrives after closing time, or on a weekend, bank holiday or closure day, is
  treated as received on the next working day;
* the due moment is the closing time of the due working day (that is what a person reads
  as "by Wednesday"), and whether the day of receipt counts as day 1 is the caller's
  choice.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from types import MappingProxyType
from zoneinfo import ZoneInfo

import holidays

LONDON = ZoneInfo("Europe/London")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_NAMES = tuple(f"{d}day" for d in ("Mon", "Tues", "Wednes", "Thurs", "Fri", "Satur", "Sun"))
NATIONS = {
    "england": "ENG",
    "wales": "WLS",
    "scotland": "SCT",
    "northern-ireland": "NIR",
}
NATION_NAMES = {
    "ENG": "England",
    "WLS": "Wales",
    "SCT": "Scotland",
    "NIR": "Northern Ireland",
}
# Ten years of days: a calendar with no working day in that span is a configuration
# error, and the bound stops a loop that would otherwise never end.
_SEARCH_LIMIT = 3660

Hours = tuple[time, time]
DEFAULT_HOURS: tuple[Hours | None, ...] = (
    *((time(9), time(17)),) * 5,
    None,
    None,
)


def nation_code(nation: str) -> str:
    """Map "scotland", "Northern Ireland" or "SCT" to the `holidays` subdivision code.

    `holidays` without a subdivision misses Easter Monday, so a bare "GB" is never
    allowed.
    """
    key = nation.strip().lower().replace(" ", "-").replace("_", "-")
    if key.upper() in NATION_NAMES:
        return key.upper()
    if key in NATIONS:
        return NATIONS[key]
    choices = ", ".join(NATIONS)
    raise ValueError(f"unknown nation {nation!r}: choose one of {choices}")


@lru_cache(maxsize=64)
def bank_holidays(subdiv: str, year: int) -> Mapping[date, str]:
    """The bank holidays of one UK nation in one year, cached: the lookup is slow."""
    found = holidays.country_holidays("GB", subdiv=subdiv, years=year)
    return MappingProxyType(dict(found.items()))


@dataclass(frozen=True)
class WorkingCalendar:
    """When an organisation works: its nation's bank holidays, closures and hours.

    `opening_hours` has one entry per weekday, Monday first; None means closed all day.
    """

    nation: str = "ENG"
    opening_hours: tuple[Hours | None, ...] = DEFAULT_HOURS
    closures: frozenset[date] = field(default_factory=frozenset)
    tz: ZoneInfo = LONDON

    def __post_init__(self) -> None:
        object.__setattr__(self, "nation", nation_code(self.nation))
        if len(self.opening_hours) != 7:
            raise ValueError("opening_hours needs one entry per weekday, Monday first")
        for hours in self.opening_hours:
            if hours is not None and not hours[0] < hours[1]:
                raise ValueError(f"opening time {hours[0]} is not before closing {hours[1]}")

    def holiday_name(self, day: date) -> str | None:
        """Why `day` is not worked, if it is a bank holiday or closure day."""
        name = bank_holidays(self.nation, day.year).get(day)
        if name is not None:
            name = name.replace("(observed)", "(substitute day)")
            return f"{name}, a bank holiday in {NATION_NAMES[self.nation]}"
        if day in self.closures:
            return "an organisation closure day"
        return None


def make_calendar(
    nation: str = "england",
    opening_hours: Mapping[str, str] | None = None,
    closures: Iterable[str | date] = (),
) -> WorkingCalendar:
    """Build a calendar from config values: weekday names, "09:00-17:00", ISO dates."""
    hours = DEFAULT_HOURS if opening_hours is None else parse_opening_hours(opening_hours)
    return WorkingCalendar(nation, hours, parse_closures(closures))


def parse_opening_hours(table: Mapping[str, str]) -> tuple[Hours | None, ...]:
    """Read `mon = "09:00-17:00"` entries; a weekday left out or "closed" is closed."""
    unknown = set(table) - set(WEEKDAYS)
    if unknown:
        raise ValueError(f"unknown weekday {sorted(unknown)[0]!r}: use {', '.join(WEEKDAYS)}")
    result: list[Hours | None] = []
    for name in WEEKDAYS:
        text = str(table.get(name, "closed")).strip().lower()
        if text in ("", "closed"):
            result.append(None)
            continue
        try:
            start, end = (time.fromisoformat(part.strip()) for part in text.split("-"))
        except ValueError as exc:
            raise ValueError(f"{name} = {text!r}: write opening hours like 09:00-17:00") from exc
        if not start < end:
            raise ValueError(f"{name} = {text!r}: opening time must come before closing time")
        result.append((start, end))
    return tuple(result)


def parse_closures(items: Iterable[str | date]) -> frozenset[date]:
    """Read closure days: ISO dates or inclusive ranges "2026-12-24..2027-01-01"."""
    days: set[date] = set()
    for item in items:
        if isinstance(item, date):
            days.add(item)
            continue
        first, _, last = str(item).partition("..")
        try:
            start = date.fromisoformat(first.strip())
            end = date.fromisoformat(last.strip()) if last else start
        except ValueError as exc:
            raise ValueError(f"closure {item!r}: write 2026-12-24 or 2026-12-24..2027-01-01") from exc
        if end < start:
            raise ValueError(f"closure {item!r}: the range ends before it starts")
        days.update(start + timedelta(n) for n in range((end - start).days + 1))
    return frozenset(days)


def local(cal: WorkingCalendar, when: datetime) -> datetime:
    """Convert to the organisation's zone; a naive time is taken as already local."""
    return when.replace(tzinfo=cal.tz) if when.tzinfo is None else when.astimezone(cal.tz)


def is_working_day(cal: WorkingCalendar, day: date) -> bool:
    """A day is worked when it has opening hours and is no bank holiday or closure."""
    return cal.opening_hours[day.weekday()] is not None and cal.holiday_name(day) is None


def next_working_day(cal: WorkingCalendar, day: date) -> date:
    """The first working day strictly after `day`."""
    for offset in range(1, _SEARCH_LIMIT):
        candidate = day + timedelta(offset)
        if is_working_day(cal, candidate):
            return candidate
    raise ValueError("the calendar has no working day in ten years: check hours and closures")


def closing_time(cal: WorkingCalendar, day: date) -> datetime:
    """The aware moment a working day ends: what "by that day" means to the reader."""
    hours = cal.opening_hours[day.weekday()]
    if hours is None:
        raise ValueError(f"{day} has no opening hours")
    return datetime.combine(day, hours[1], tzinfo=cal.tz)


def receipt_day(cal: WorkingCalendar, received: datetime) -> date:
    """The working day a message counts as received (after closing: the next one)."""
    when = local(cal, received)
    day = when.date()
    if is_working_day(cal, day) and when < closing_time(cal, day):
        return day
    return next_working_day(cal, day)


def add_working_days(
    cal: WorkingCalendar,
    received: datetime,
    days: int,
    *,
    count_receipt_day: bool = False,
) -> datetime:
    """The due moment `days` working days after receipt: closing time of the due day.

    With count_receipt_day the day of receipt is day 1 (so 2 days from Monday is
    Tuesday); without it day 1 is the next working day (Wednesday). Zero days means the
    day of receipt.
    """
    if days < 0:
        raise ValueError("days must not be negative")
    day = receipt_day(cal, received)
    steps = days - 1 if count_receipt_day and days > 0 else days
    for _ in range(steps):
        day = next_working_day(cal, day)
    return closing_time(cal, day)


def working_days_between(cal: WorkingCalendar, a: datetime, b: datetime) -> int:
    """Working days from a to b, negative when b is earlier: "Due in 2 working days".

    Counts working days after a's date up to and including b's date (local dates), so a
    case due today gives 0 and one due yesterday gives -1 ("Overdue by 1 working day").
    """
    start, end = local(cal, a).date(), local(cal, b).date()
    sign = 1
    if end < start:
        start, end, sign = end, start, -1
    total = sum(is_working_day(cal, start + timedelta(n)) for n in range(1, (end - start).days + 1))
    return sign * total


def next_opening(cal: WorkingCalendar, when: datetime) -> datetime:
    """The first moment at or after `when` that the organisation is open."""
    moment = local(cal, when)
    day = moment.date()
    if is_working_day(cal, day):
        hours = cal.opening_hours[day.weekday()]
        assert hours is not None  # is_working_day guarantees hours
        opens = datetime.combine(day, hours[0], tzinfo=cal.tz)
        if moment < opens:
            return opens
        if moment < closing_time(cal, day):
            return moment
    day = next_working_day(cal, day)
    hours = cal.opening_hours[day.weekday()]
    assert hours is not None
    return datetime.combine(day, hours[0], tzinfo=cal.tz)


def skipped_days(cal: WorkingCalendar, start: date, end: date) -> list[tuple[date, str]]:
    """Bank holidays and closures after `start` up to `end`: why a deadline moved."""
    found = []
    for n in range(1, (end - start).days + 1):
        day = start + timedelta(n)
        name = cal.holiday_name(day)
        if name is not None and cal.opening_hours[day.weekday()] is not None:
            found.append((day, name))
    return found


def describe_hours(cal: WorkingCalendar) -> str:
    """Opening hours in plain English for the acknowledgement's terms."""
    groups: list[tuple[str, str, str]] = []  # (first day, last day, hours)
    for name, hours in zip(DAY_NAMES, cal.opening_hours, strict=True):
        text = "closed" if hours is None else f"{hours[0]:%H:%M} to {hours[1]:%H:%M}"
        if groups and groups[-1][2] == text:
            groups[-1] = (groups[-1][0], name, text)
        else:
            groups.append((name, name, text))
    shown = "; ".join(
        (first if first == last else f"{first} to {last}") + f" {text}" for first, last, text in groups if text != "closed"
    )
    return f"{shown}, except bank holidays in {NATION_NAMES[cal.nation]}"
