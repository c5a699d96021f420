"""Working-day arithmetic, checked against dates worked out by hand from printed calendars.

Every expected value below was counted on `python -c 'import calendar; print(calendar.month(Y, M))'`
and the published UK bank holidays, never copied from the code's output. Conventions under test:
a message after closing time or on a day off counts from the next working day; day 1 is the next
working day unless the day of receipt counts; the due moment is closing time of the due day.
"""

from __future__ import annotations

from datetime import date, datetime

import pytest

from gateway.policy.calendar import (
    WorkingCalendar,
    add_working_days,
    describe_hours,
    is_working_day,
    make_calendar,
    next_opening,
    working_days_between,
)

WEEKDAYS_9_TO_5 = {d: "09:00-17:00" for d in ("mon", "tue", "wed", "thu", "fri")}
CSSC_HOURS = {**WEEKDAYS_9_TO_5, "fri": "09:00-16:30"}
CIPFA_HOURS = {d: "08:30-17:30" for d in ("mon", "tue", "wed", "thu", "fri")}
SPSO_HOURS = {**WEEKDAYS_9_TO_5, "tue": "10:00-17:00"}
CLOSED_AT_CHRISTMAS = ["2026-12-24..2027-01-01"]

CALENDARS: dict[str, WorkingCalendar] = {
    "ENG": make_calendar("england", WEEKDAYS_9_TO_5),
    "WLS": make_calendar("wales", WEEKDAYS_9_TO_5),
    "SCT": make_calendar("scotland", WEEKDAYS_9_TO_5),
    "NIR": make_calendar("northern-ireland", WEEKDAYS_9_TO_5),
    "CSSC": make_calendar("england", CSSC_HOURS),
    "CIPFA": make_calendar("england", CIPFA_HOURS),
    "SPSO": make_calendar("scotland", SPSO_HOURS),
    "ENG-closed": make_calendar("england", WEEKDAYS_9_TO_5, CLOSED_AT_CHRISTMAS),
    "SCT-closed": make_calendar("scotland", WEEKDAYS_9_TO_5, CLOSED_AT_CHRISTMAS),
}

# (calendar, received (naive = London time), working days, day of receipt counts, due moment)
CASES = [
    # Mon 23 Nov 2026 10:00: day 1 Tue 24, day 2 Wed 25; GMT in November.
    ("ENG", "2026-11-23T10:00", 2, False, "2026-11-25T17:00:00+00:00"),
    # Same message when the day of receipt counts: Mon 23 is day 1, Tue 24 day 2.
    ("ENG", "2026-11-23T10:00", 2, True, "2026-11-24T17:00:00+00:00"),
    # Before opening (08:00) still counts as received that Monday: due Wed 25.
    ("ENG", "2026-11-23T08:00", 2, False, "2026-11-25T17:00:00+00:00"),
    # At 17:00 exactly the office has closed: received Tue 24, so Wed 25 (1), Thu 26 (2).
    ("ENG", "2026-11-23T17:00", 2, False, "2026-11-26T17:00:00+00:00"),
    # After closing with receipt-day counting: received Tue 24 = day 1, Wed 25 = day 2.
    ("ENG", "2026-11-23T18:00", 2, True, "2026-11-25T17:00:00+00:00"),
    # Saturday 28 Nov: counts from Mon 30; day 1 Tue 1 Dec, day 2 Wed 2 Dec (England).
    ("ENG", "2026-11-28T12:00", 2, False, "2026-12-02T17:00:00+00:00"),
    # Zero days: the end of the day of receipt.
    ("ENG", "2026-11-23T10:00", 0, False, "2026-11-23T17:00:00+00:00"),
    # Friday closes 16:30; at 16:29 Fri 27 Nov is the day of receipt: Mon 30 (1), Tue 1 Dec (2).
    ("CSSC", "2026-11-27T16:29", 2, False, "2026-12-01T17:00:00+00:00"),
    # At 16:31 it is after closing: received Mon 30, so Tue 1 (1), Wed 2 Dec (2).
    ("CSSC", "2026-11-27T16:31", 2, False, "2026-12-02T17:00:00+00:00"),
    # Zero days at 16:29 on the Friday: due at Friday's own closing time, 16:30.
    ("CSSC", "2026-11-27T16:29", 0, False, "2026-11-27T16:30:00+00:00"),
    # Thu 26 Nov, 1 day: due Fri 27, at Friday's 16:30 closing, not 17:00.
    ("CSSC", "2026-11-26T10:00", 1, False, "2026-11-27T16:30:00+00:00"),
    # Scotland: Mon 30 Nov 2026 is St Andrew's Day (a Monday itself): Fri 27 + 1 = Tue 1 Dec.
    ("SCT", "2026-11-27T10:00", 1, False, "2026-12-01T17:00:00+00:00"),
    # England works on 30 Nov: Fri 27 + 1 = Mon 30.
    ("ENG", "2026-11-27T10:00", 1, False, "2026-11-30T17:00:00+00:00"),
    # 2025: St Andrew's Day is Sunday 30 Nov, substitute Mon 1 Dec: Fri 28 + 1 = Tue 2 Dec.
    ("SCT", "2025-11-28T10:00", 1, False, "2025-12-02T17:00:00+00:00"),
    # England has no such substitute: Fri 28 Nov 2025 + 1 = Mon 1 Dec.
    ("ENG", "2025-11-28T10:00", 1, False, "2025-12-01T17:00:00+00:00"),
    # Scotland's 2 January 2026 (a Friday): Wed 31 Dec 2025 + 1 skips Thu 1 and Fri 2 -> Mon 5.
    ("SCT", "2025-12-31T10:00", 1, False, "2026-01-05T17:00:00+00:00"),
    # England works on 2 January 2026: Wed 31 Dec + 1 skips only Thu 1 -> Fri 2 Jan.
    ("ENG", "2025-12-31T10:00", 1, False, "2026-01-02T17:00:00+00:00"),
    # 2 Jan 2027 is a Saturday, so Scotland takes Mon 4 Jan: Thu 31 Dec 2026 + 1 -> Tue 5 Jan.
    ("SCT", "2026-12-31T10:00", 1, False, "2027-01-05T17:00:00+00:00"),
    # England: Fri 1 Jan 2027 is the only holiday: Thu 31 Dec + 1 -> Mon 4 Jan 2027.
    ("ENG", "2026-12-31T10:00", 1, False, "2027-01-04T17:00:00+00:00"),
    # Northern Ireland: 12 July 2026 is a Sunday, substitute Mon 13: Fri 10 + 1 -> Tue 14 (BST).
    ("NIR", "2026-07-10T10:00", 1, False, "2026-07-14T17:00:00+01:00"),
    # England works on 13 July: Fri 10 + 1 -> Mon 13 July.
    ("ENG", "2026-07-10T10:00", 1, False, "2026-07-13T17:00:00+01:00"),
    # 2025: 12 July is a Saturday, NI substitute Mon 14: Fri 11 + 1 -> Tue 15 July 2025.
    ("NIR", "2025-07-11T10:00", 1, False, "2025-07-15T17:00:00+01:00"),
    # St Patrick's Day, Tue 17 Mar 2026, in Northern Ireland: Mon 16 + 1 -> Wed 18 (still GMT).
    ("NIR", "2026-03-16T10:00", 1, False, "2026-03-18T17:00:00+00:00"),
    # Easter 2026 in England: Good Friday 3 Apr and Easter Monday 6 Apr: Thu 2 + 1 -> Tue 7.
    ("ENG", "2026-04-02T10:00", 1, False, "2026-04-07T17:00:00+01:00"),
    # Wales keeps Easter Monday too: Tue 7 April.
    ("WLS", "2026-04-02T10:00", 1, False, "2026-04-07T17:00:00+01:00"),
    # Northern Ireland keeps Easter Monday too: Tue 7 April.
    ("NIR", "2026-04-02T10:00", 1, False, "2026-04-07T17:00:00+01:00"),
    # Scotland has Good Friday but not Easter Monday: Thu 2 + 1 -> Mon 6 April.
    ("SCT", "2026-04-02T10:00", 1, False, "2026-04-06T17:00:00+01:00"),
    # Received on a bank holiday (Easter Monday 6 Apr, England): counts from Tue 7; +2 -> Thu 9.
    ("ENG", "2026-04-06T10:00", 2, False, "2026-04-09T17:00:00+01:00"),
    # The same with receipt-day counting: Tue 7 is day 1, Wed 8 day 2.
    ("ENG", "2026-04-06T10:00", 2, True, "2026-04-08T17:00:00+01:00"),
    # Christmas 2026: Fri 25, Sat 26 Boxing Day, substitute Mon 28: Thu 24 + 1 -> Tue 29 Dec.
    ("ENG", "2026-12-24T10:00", 1, False, "2026-12-29T17:00:00+00:00"),
    # Christmas 2027 on a Saturday: substitutes Mon 27 and Tue 28: Fri 24 + 1 -> Wed 29 Dec.
    ("ENG", "2027-12-24T10:00", 1, False, "2027-12-29T17:00:00+00:00"),
    # Received on the substitute Mon 27 Dec 2027: counts from Wed 29; +1 -> Thu 30 Dec.
    ("ENG", "2027-12-27T11:00", 1, False, "2027-12-30T17:00:00+00:00"),
    # Clocks go back Sun 25 Oct 2026. Fri 23 at 15:45 UTC is 16:45 BST, after 16:30:
    # received Mon 26, so Tue 27 (1), Wed 28 (2), due 17:00 GMT = 17:00 UTC.
    ("CSSC", "2026-10-23T15:45+00:00", 2, False, "2026-10-28T17:00:00+00:00"),
    # Fri 23 Oct 16:00 BST (+01:00) + 1 day -> Mon 26 Oct at 17:00 GMT (+00:00).
    ("ENG", "2026-10-23T16:00", 1, False, "2026-10-26T17:00:00+00:00"),
    # 00:30 UTC on Sun 25 Oct is 01:30 BST, a Sunday: received Mon 26; +1 -> Tue 27 Oct.
    ("ENG", "2026-10-25T00:30+00:00", 1, False, "2026-10-27T17:00:00+00:00"),
    # Clocks go forward Sun 29 Mar 2026: Fri 27 16:00 GMT + 1 -> Mon 30 Mar 17:00 BST.
    ("ENG", "2026-03-27T16:00", 1, False, "2026-03-30T17:00:00+01:00"),
    # Closure 24 Dec-1 Jan plus holidays: Wed 23 Dec 2026 + 1 -> first open day Mon 4 Jan 2027.
    ("ENG-closed", "2026-12-23T10:00", 1, False, "2027-01-04T17:00:00+00:00"),
    # Received during the closure (Tue 29 Dec): counts from Mon 4 Jan; 0 days -> Mon 4 Jan.
    ("ENG-closed", "2026-12-29T10:00", 0, False, "2027-01-04T17:00:00+00:00"),
    # Closure in Scotland: Mon 4 Jan 2027 is the 2 January substitute, so +1 -> Tue 5 Jan.
    ("SCT-closed", "2026-12-23T10:00", 1, False, "2027-01-05T17:00:00+00:00"),
    # CIPFA hours 08:30-17:30: Mon 23 Nov at 17:15 is before closing: +2 -> Wed 25 at 17:30.
    ("CIPFA", "2026-11-23T17:15", 2, False, "2026-11-25T17:30:00+00:00"),
    # CIPFA at 17:31 is after closing: received Tue 24; +2 -> Thu 26 at 17:30.
    ("CIPFA", "2026-11-23T17:31", 2, False, "2026-11-26T17:30:00+00:00"),
    # SPSO (Scotland, receipt day counts): Tue 1 Dec 09:30, before Tuesday's 10:00 opening, is
    # still received Tue 1 = day 1; Wed 2, Thu 3, Fri 4, Mon 7 = day 5.
    ("SPSO", "2026-12-01T09:30", 5, True, "2026-12-07T17:00:00+00:00"),
    # SPSO: Fri 27 Nov is day 1, Mon 30 is St Andrew's Day, so Tue 1 Dec is day 2.
    ("SPSO", "2026-11-27T12:00", 2, True, "2026-12-01T17:00:00+00:00"),
    # Scotland's summer holiday is the first Monday of August (3 Aug 2026): Fri 31 Jul + 1 -> Tue 4.
    ("SCT", "2026-07-31T10:00", 1, False, "2026-08-04T17:00:00+01:00"),
    # England's is the last Monday (31 Aug 2026): Fri 31 Jul + 1 -> Mon 3 Aug ...
    ("ENG", "2026-07-31T10:00", 1, False, "2026-08-03T17:00:00+01:00"),
    # ... and Fri 28 Aug + 1 skips Mon 31 Aug -> Tue 1 Sep.
    ("ENG", "2026-08-28T10:00", 1, False, "2026-09-01T17:00:00+01:00"),
    # Ten working days across Christmas 2026 in England (no closures): from Mon 14 Dec,
    # Tue 15 (1), 16, 17, 18 (4), Mon 21 (5), 22, 23, 24 (8), [25, 28 holidays], Tue 29 (9), Wed 30 (10).
    ("ENG", "2026-12-14T10:00", 10, False, "2026-12-30T17:00:00+00:00"),
]


@pytest.mark.parametrize(("cal", "received", "days", "counts", "expected"), CASES)
def test_add_working_days(cal: str, received: str, days: int, counts: bool, expected: str) -> None:
    due = add_working_days(CALENDARS[cal], datetime.fromisoformat(received), days, count_receipt_day=counts)
    assert due.isoformat() == expected
    assert due.tzinfo is not None and str(due.tzinfo) == "Europe/London"


def test_the_table_is_big_enough() -> None:
    assert len(CASES) >= 40


@pytest.mark.parametrize(
    ("cal", "when", "expected"),
    [
        # Saturday: next opening Monday 30 Nov at 09:00 in England ...
        ("ENG", "2026-11-28T12:00", "2026-11-30T09:00:00+00:00"),
        # ... and Tuesday 1 Dec in Scotland (Monday is St Andrew's Day).
        ("SCT", "2026-11-28T12:00", "2026-12-01T09:00:00+00:00"),
        # Before opening on a working day: that day's opening.
        ("ENG", "2026-11-23T08:00", "2026-11-23T09:00:00+00:00"),
        # Open now: the moment itself.
        ("ENG", "2026-11-23T10:15", "2026-11-23T10:15:00+00:00"),
        # Friday after the 16:30 close: Monday 09:00.
        ("CSSC", "2026-11-27T16:45", "2026-11-30T09:00:00+00:00"),
        # SPSO opens at 10:00 on Tuesdays: Monday evening -> Tue 24 Nov 10:00.
        ("SPSO", "2026-11-23T17:30", "2026-11-24T10:00:00+00:00"),
        # Friday 23 Oct 18:00 BST -> Monday 26 Oct 09:00 GMT, after the clocks went back.
        ("ENG", "2026-10-23T18:00", "2026-10-26T09:00:00+00:00"),
    ],
)
def test_next_opening(cal: str, when: str, expected: str) -> None:
    assert next_opening(CALENDARS[cal], datetime.fromisoformat(when)).isoformat() == expected


@pytest.mark.parametrize(
    ("cal", "a", "b", "expected"),
    [
        # Mon 23 -> Wed 25 Nov: Tue and Wed are working days.
        ("ENG", "2026-11-23T10:00", "2026-11-25T17:00", 2),
        # The other way round is negative: "overdue by 2 working days".
        ("ENG", "2026-11-25T17:00", "2026-11-23T10:00", -2),
        # Same day, different times: 0 ("due today").
        ("ENG", "2026-11-23T09:00", "2026-11-23T17:00", 0),
        # Fri 27 -> Mon 30 Nov: 1 in England, 0 in Scotland (St Andrew's Day).
        ("ENG", "2026-11-27T10:00", "2026-11-30T10:00", 1),
        ("SCT", "2026-11-27T10:00", "2026-11-30T10:00", 0),
        # Fri 24 -> Wed 29 Dec 2027: Sat, Sun and both substitute days are off: only Wed 29.
        ("ENG", "2027-12-24T10:00", "2027-12-29T10:00", 1),
        # Due Wed 28 Oct 2026, now Thu 29: overdue by 1 working day.
        ("CSSC", "2026-10-29T09:00", "2026-10-28T17:00", -1),
    ],
)
def test_working_days_between(cal: str, a: str, b: str, expected: int) -> None:
    assert working_days_between(CALENDARS[cal], datetime.fromisoformat(a), datetime.fromisoformat(b)) == expected


@pytest.mark.parametrize(
    ("cal", "day", "expected"),
    [
        ("ENG", date(2026, 4, 6), False),  # Easter Monday, England
        ("SCT", date(2026, 4, 6), True),  # Easter Monday is worked in Scotland
        ("SCT", date(2026, 1, 2), False),  # Scotland's 2 January
        ("ENG", date(2026, 1, 2), True),  # worked in England
        ("NIR", date(2026, 7, 13), False),  # Battle of the Boyne substitute
        ("ENG", date(2026, 11, 28), False),  # a Saturday
        ("ENG-closed", date(2026, 12, 30), False),  # closure day, not a bank holiday
        ("ENG", date(2026, 12, 30), True),
    ],
)
def test_is_working_day(cal: str, day: date, expected: bool) -> None:
    assert is_working_day(CALENDARS[cal], day) is expected


def test_a_nation_is_required_and_gb_alone_is_refused() -> None:
    """Without a subdivision `holidays` misses Easter Monday: a bare "GB" must not slip through."""
    with pytest.raises(ValueError, match="unknown nation"):
        make_calendar("GB")
    assert make_calendar("Northern Ireland").nation == "NIR"
    assert make_calendar("SCT").nation == "SCT"


@pytest.mark.parametrize(
    ("hours", "closures", "message"),
    [
        ({"mon": "17:00-09:00"}, [], "before closing"),
        ({"mon": "nine to five"}, [], "like 09:00-17:00"),
        ({"monday": "09:00-17:00"}, [], "unknown weekday"),
        (WEEKDAYS_9_TO_5, ["2027-01-01..2026-12-24"], "ends before it starts"),
        (WEEKDAYS_9_TO_5, ["24/12/2026"], "write 2026-12-24"),
    ],
)
def test_bad_calendar_settings_say_what_to_write(hours: dict[str, str], closures: list[str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make_calendar("england", hours, closures)


def test_a_calendar_with_no_working_day_fails_instead_of_looping() -> None:
    cal = make_calendar("england", {})
    with pytest.raises(ValueError, match="no working day"):
        add_working_days(cal, datetime(2026, 11, 23, 10), 1)


def test_closure_range_is_inclusive() -> None:
    cal = CALENDARS["ENG-closed"]
    assert cal.closures >= {date(2026, 12, 24), date(2027, 1, 1)}
    assert date(2026, 12, 23) not in cal.closures and date(2027, 1, 2) not in cal.closures


def test_holiday_names_use_uk_wording() -> None:
    assert CALENDARS["ENG"].holiday_name(date(2027, 12, 28)) == "Boxing Day (substitute day), a bank holiday in England"


def test_describe_hours_groups_days() -> None:
    assert describe_hours(CALENDARS["CSSC"]) == (
        "Monday to Thursday 09:00 to 17:00; Friday 09:00 to 16:30, except bank holidays in England"
    )
