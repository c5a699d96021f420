"""The organisation's contact details and opening hours, worded the GOV.UK way.

Every public page shows the same help block in the same place (WCAG 2.2 3.2.6 Consistent Help), so
the wording is computed once here from `config.organisation`: days with the same hours are grouped
("Monday to Thursday, 9am to 5pm"), times read "9am", "4:30pm", "midday", and only closures that
have not ended yet are listed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, time
from typing import Any

from forms.catalogue import Catalogue

WEEK = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class ContactDetails:
    name: str
    email: str
    phone: str
    address: str
    website: str
    hours: tuple[str, ...]
    closures: tuple[str, ...]


def spoken_time(value: time, cat: Catalogue) -> str:
    """09:00 -> 9am, 16:30 -> 4:30pm, 12:00 -> midday (GOV.UK style guide)."""
    if value == time(12):
        return cat.text("dates.midday")
    if value == time(0):
        return cat.text("dates.midnight")
    hour = value.hour % 12 or 12
    suffix = cat.text("dates.am") if value.hour < 12 else cat.text("dates.pm")
    minutes = f":{value.minute:02d}" if value.minute else ""
    return f"{hour}{minutes}{suffix}"


Week = Sequence[tuple[time, time] | None]


def _parse_span(text: str) -> tuple[time, time] | None:
    try:
        start, end = (part.strip() for part in text.split("-", 1))
        return time.fromisoformat(start), time.fromisoformat(end)
    except ValueError:
        return None


def week_from_table(table: Mapping[str, str]) -> tuple[tuple[time, time] | None, ...]:
    """{"mon": "09:00-17:00", ...} (the [organisation] table) as one entry per weekday."""
    return tuple(_parse_span(str(table[d])) if d in table else None for d in WEEK)


def opening_hours(week: Week, cat: Catalogue) -> tuple[str, ...]:
    """Lines such as "Monday to Thursday, 9am to 5pm", from one entry per weekday (None = closed)."""
    names = cat.lookup("dates.days")
    lines: list[str] = []
    group: list[int] = []
    current: tuple[time, time] | None = None

    def flush() -> None:
        if not group or current is None:
            return
        days = names[group[0]] if len(group) == 1 else cat.text("dates.day_range", first=names[group[0]], last=names[group[-1]])
        hours = cat.text("dates.hours_range", start=spoken_time(current[0], cat), end=spoken_time(current[1], cat))
        lines.append(f"{days}, {hours}")

    for index, span in enumerate(week):
        if span is not None and span == current and group and group[-1] == index - 1:
            group.append(index)
            continue
        flush()
        group, current = ([index], tuple(span)) if span is not None else ([], None)  # type: ignore[assignment]
    flush()
    return tuple(lines)


def closures(items: Iterable[Any], cat: Catalogue, today: date) -> tuple[str, ...]:
    """Closure days still to come: "Closed from 24 December 2026 to 1 January 2027"."""
    lines: list[str] = []
    for item in items:
        text = str(item)
        try:
            if ".." in text:
                first, last = (date.fromisoformat(p.strip()) for p in text.split("..", 1))
            else:
                first = last = date.fromisoformat(text.strip())
        except ValueError:
            continue
        if last < today:
            continue
        if first == last:
            lines.append(cat.text("contact.closed_on", day=cat.long_date(first)))
        else:
            lines.append(cat.text("contact.closed_from", start=cat.long_date(first), end=cat.long_date(last)))
    return tuple(lines)


def contact_details(organisation: Mapping[str, Any], week: Week, cat: Catalogue, today: date) -> ContactDetails:
    """The help block's facts; `week` is the working calendar's hours (what deadlines count on)."""
    return ContactDetails(
        name=str(organisation.get("name", "")),
        email=str(organisation.get("email", "")),
        phone=str(organisation.get("phone", "")),
        address=str(organisation.get("address", "")),
        website=str(organisation.get("website", "")),
        hours=opening_hours(week, cat),
        closures=closures(organisation.get("closures", ()), cat, today),
    )
