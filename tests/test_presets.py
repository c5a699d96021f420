"""Policy presets, overrides, deadlines and `check_config`, against the seed policies' promises.

Expected dates are counted by hand on printed calendars (see tests/test_calendar.py).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from gateway.policy import check_config, compute_deadlines, load_policy, policy_from_config
from gateway.policy.presets import PolicyError, list_presets

PRESETS = ["autus", "cipfa", "cssc", "customer-care-template", "default", "spso"]


def deadlines(config: dict, channel: str, topic: str | None, stage: int | None, received: str):  # type: ignore[no-untyped-def]
    policy, cal = policy_from_config(config)
    return compute_deadlines(policy, cal, channel, topic, stage, datetime.fromisoformat(received))


def test_one_preset_per_seed_and_a_default() -> None:
    assert list_presets() == PRESETS


@pytest.mark.parametrize("name", PRESETS)
def test_every_preset_loads_and_passes_check(name: str) -> None:
    assert check_config({"policy": {"preset": name}}) == []
    policy = load_policy(name)
    for channel in ("email", "webform", "post", "voicemail", "social"):
        target = policy.target(channel)
        assert target.acknowledge_days >= 0 and target.terms and "{" not in target.terms
    # The statutory month for subject access requests is in every preset.
    assert policy.target("email", "data_protection").reply_months == 1


@pytest.mark.parametrize(
    ("preset", "channel", "topic", "stage", "ack", "reply", "role"),
    [
        # CSSC: email and social media 2, post 3, voicemail call-back 2.
        ("cssc", "email", None, None, 2, 2, "handler"),
        ("cssc", "social", None, None, 2, 2, "handler"),
        ("cssc", "post", None, None, 3, 3, "handler"),
        ("cssc", "voicemail", None, None, 2, 2, "handler"),
        # CSSC online complaint: acknowledged in 2, a manager within 2 more (4 from receipt).
        ("cssc", "webform", "complaint", 1, 2, 4, "manager"),
        # CIPFA complaints: stages of 2, 4 and 15 UK working days.
        ("cipfa", "email", "complaint", 1, 2, 2, "customer service team"),
        ("cipfa", "email", "complaint", 2, 2, 4, "senior manager"),
        ("cipfa", "post", "complaint", 3, 2, 15, "director"),
        ("cipfa", "webform", "qualifications", None, 2, 15, "qualifications team"),
        # Template: written enquiries within 14 working days, named contact.
        ("customer-care-template", "email", None, None, 2, 14, "handler"),
        ("customer-care-template", "post", None, None, 2, 14, "handler"),
        # Autus: email 2; complaint initial response 3 naming the point of contact, 10 to investigate.
        ("autus", "email", None, None, 2, 2, "handler"),
        ("autus", "post", "complaint", None, 3, 10, "point of contact"),
        ("autus", "email", "safeguarding", None, 3, 10, "safeguarding officer"),
        # SPSO model procedure: stage 1 five days, stage 2 acknowledged in 3, answered in 20.
        ("spso", "webform", "complaint", 1, 2, 5, "point of contact"),
        ("spso", "email", "complaint", 2, 3, 20, "investigating officer"),
    ],
)
def test_preset_targets(preset: str, channel: str, topic: str | None, stage: int | None, ack: int, reply: int, role: str) -> None:
    target = load_policy(preset).target(channel, topic, stage)
    assert (target.acknowledge_days, target.reply_days, target.named_role) == (ack, reply, role)


def test_autus_keeps_24_hour_call_backs_and_fortnightly_updates() -> None:
    target = load_policy("autus").target("voicemail")
    assert (target.reply_hours, target.reply_days, target.update_every_days) == (24, None, 14)
    assert "24 hours" in target.terms


def test_terms_follow_the_numbers_even_when_overridden() -> None:
    assert "within 3 working days" in load_policy("cssc").target("post").terms
    policy = load_policy("cssc", {"rule": [{"channel": "post", "reply_days": 5}]})
    assert "within 5 working days" in policy.target("post").terms


def test_overrides_win_over_the_preset() -> None:
    # A top-level override applies to every message, even where the preset is more specific.
    policy = load_policy("cssc", {"reply_days": 6})
    assert policy.target("post").reply_days == 6
    # A more specific override wins over a general one; a reply in hours replaces days.
    policy = load_policy("cssc", {"reply_days": 6, "rule": [{"channel": "voicemail", "reply_hours": 48}]})
    target = policy.target("voicemail")
    assert (target.reply_hours, target.reply_days) == (48, None)
    assert load_policy("cssc", {"count_receipt_day": True}).count_receipt_day is True


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"rule": [{"channel": "fax", "reply_days": 2}]}, "unknown channel 'fax'"),
        ({"reply_dayz": 2}, "unknown key 'reply_dayz'"),
        ({"reply_days": -1}, "whole number"),
        ({"reply_hours": 30}, "24, 48"),
        ({"terms": "Reply in {reply_days}."}, "terms uses {reply_days}"),
        ({"rule": [{"stage": 0, "reply_days": 2}]}, "stage must be"),
    ],
)
def test_bad_overrides_are_refused_with_the_reason(overrides: dict, message: str) -> None:
    with pytest.raises(PolicyError, match=message):
        load_policy("default", overrides)


def test_unknown_or_unsafe_preset_names() -> None:
    with pytest.raises(PolicyError, match="unknown preset 'nope'.*cssc"):
        load_policy("nope")
    with pytest.raises(PolicyError, match="lower-case letters"):
        load_policy("../pyproject")


def test_presets_dir_can_be_replaced(tmp_path: Path) -> None:
    (tmp_path / "tiny.toml").write_text('title = "Tiny"\n[[rule]]\nchannel = "post"\nreply_days = 9\n')
    assert load_policy("tiny", directory=tmp_path).target("post").reply_days == 9


def test_config_chooses_preset_and_the_organisation_wins_over_its_assumptions() -> None:
    policy, cal = policy_from_config({"policy": {"preset": "spso"}})
    assert (policy.name, cal.nation, policy.count_receipt_day) == ("spso", "SCT", True)
    assert str(cal.opening_hours[1][0]) == "10:00:00"  # SPSO opens at 10 on Tuesdays
    policy, cal = policy_from_config({"policy": {"preset": "spso"}, "organisation": {"nation": "england"}})
    assert cal.nation == "ENG"
    with pytest.raises(PolicyError, match="unknown nation"):
        policy_from_config({"organisation": {"nation": "mercia"}})


# --- deadlines -------------------------------------------------------------------------------


def test_post_after_friday_closing_at_cssc() -> None:
    # Fri 27 Nov 2026 16:45, CSSC closes 16:30 on Fridays: received Mon 30; post = 3 working
    # days: Tue 1 (1), Wed 2 (2), Thu 3 Dec (3), at Thursday's 17:00 close.
    due = deadlines({"policy": {"preset": "cssc"}}, "post", None, None, "2026-11-27T16:45")
    assert due.acknowledge_by.isoformat() == "2026-12-03T17:00:00+00:00"
    assert due.reply_by.isoformat() == "2026-12-03T17:00:00+00:00"
    assert any("after closing time (16:30)" in r and "Monday 30 November 2026" in r for r in due.reasons)


def test_friday_1629_and_1631_at_cssc() -> None:
    # Email, 2 days. 16:29: Fri 27 is the receipt day -> Mon 30 (1), Tue 1 Dec (2).
    early = deadlines({"policy": {"preset": "cssc"}}, "email", None, None, "2026-11-27T16:29")
    # 16:31: received Mon 30 -> Tue 1 (1), Wed 2 Dec (2).
    late = deadlines({"policy": {"preset": "cssc"}}, "email", None, None, "2026-11-27T16:31")
    assert early.reply_by.isoformat() == "2026-12-01T17:00:00+00:00"
    assert late.reply_by.isoformat() == "2026-12-02T17:00:00+00:00"


def test_a_preset_that_counts_the_day_of_receipt_and_one_that_does_not() -> None:
    # SPSO (Scotland, day of receipt counts), complaint stage 1, Fri 27 Nov 2026 12:00:
    # acknowledge 2: Fri 27 (1), Mon 30 St Andrew's Day skipped, Tue 1 Dec (2);
    # reply 5: Fri 27, Tue 1, Wed 2, Thu 3, Fri 4 Dec (5).
    spso = deadlines({"policy": {"preset": "spso"}}, "webform", "complaint", 1, "2026-11-27T12:00")
    assert spso.acknowledge_by.isoformat() == "2026-12-01T17:00:00+00:00"
    assert spso.reply_by.isoformat() == "2026-12-04T17:00:00+00:00"
    assert any("Saint Andrew's Day" in r for r in spso.reasons)
    # CIPFA (England, 08:30-17:30, day of receipt does not count), stage 1 = 2 and 2:
    # Mon 30 (1), Tue 1 Dec (2) at 17:30.
    cipfa = deadlines({"policy": {"preset": "cipfa"}}, "webform", "complaint", 1, "2026-11-27T12:00")
    assert cipfa.acknowledge_by.isoformat() == "2026-12-01T17:30:00+00:00"
    assert cipfa.reply_by.isoformat() == "2026-12-01T17:30:00+00:00"


def test_cipfa_stage_3_runs_15_working_days_from_escalation() -> None:
    # Escalated Mon 7 Dec 2026 10:00: Tue 8 (1) ... Fri 11 (4), 14-18 (9), 21-24 (13),
    # [25 Christmas, 28 Boxing Day substitute], Tue 29 (14), Wed 30 Dec (15).
    due = deadlines({"policy": {"preset": "cipfa"}}, "email", "complaint", 3, "2026-12-07T10:00")
    assert due.reply_by.isoformat() == "2026-12-30T17:30:00+00:00"
    assert due.named_role == "director"


def test_organisation_closure_days_push_deadlines() -> None:
    # Closed 24 Dec-1 Jan. Email Wed 23 Dec 2026 10:00: Wed 23 is the receipt day; the next
    # working days are Mon 4 Jan 2027 (1) and Tue 5 Jan (2).
    config = {"policy": {"preset": "default"}, "organisation": {"closures": ["2026-12-24..2027-01-01"]}}
    due = deadlines(config, "email", None, None, "2026-12-23T10:00")
    assert due.acknowledge_by.isoformat() == "2027-01-05T17:00:00+00:00"
    assert "Skipped Thursday 24 December 2026: an organisation closure day." in due.reasons


def test_autus_voicemail_within_24_hours() -> None:
    config = {"policy": {"preset": "autus"}}
    # Thu 26 Nov 2026 16:45 -> the same time on Fri 27.
    assert deadlines(config, "voicemail", None, None, "2026-11-26T16:45").reply_by.isoformat() == "2026-11-27T16:45:00+00:00"
    # Fri 27 Nov 18:00, closed: counting starts Mon 30 09:00 -> Tue 1 Dec 09:00.
    assert deadlines(config, "voicemail", None, None, "2026-11-27T18:00").reply_by.isoformat() == "2026-12-01T09:00:00+00:00"


def test_autus_progress_update_at_least_every_two_weeks() -> None:
    config = {"policy": {"preset": "autus"}}
    # Mon 23 Nov 2026 + 14 days = Mon 7 Dec, a working day.
    due = deadlines(config, "email", "complaint", None, "2026-11-23T10:00")
    assert due.update_by is not None and due.update_by.isoformat() == "2026-12-07T17:00:00+00:00"
    assert due.update_every_days == 14
    # Sat 28 Nov + 14 = Sat 12 Dec: pulled back to Fri 11 Dec, never later than two weeks.
    due = deadlines(config, "email", "complaint", None, "2026-11-28T10:00")
    assert due.update_by is not None and due.update_by.isoformat() == "2026-12-11T17:00:00+00:00"


@pytest.mark.parametrize(
    ("nation", "received", "expected"),
    [
        # 31 Jan has no 31 Feb: the last day, Sat 28 Feb 2026, moves to Mon 2 Mar.
        ("england", "2026-01-31T10:00", "2026-03-02T17:00:00+00:00"),
        # 3 Mar -> Fri 3 Apr 2026 is Good Friday, Mon 6 Easter Monday -> Tue 7 Apr (BST).
        ("england", "2026-03-03T10:00", "2026-04-07T17:00:00+01:00"),
        # In Scotland Easter Monday is worked -> Mon 6 Apr.
        ("scotland", "2026-03-03T10:00", "2026-04-06T17:00:00+01:00"),
    ],
)
def test_subject_access_requests_get_one_calendar_month(nation: str, received: str, expected: str) -> None:
    due = deadlines({"organisation": {"nation": nation}}, "email", "data_protection", None, received)
    assert due.reply_by.isoformat() == expected
    assert due.reply_months == 1
    assert any("calendar month from the date of receipt" in r for r in due.reasons)


def test_month_target_reports_the_working_days_it_spans() -> None:
    # Sat 31 Jan -> Mon 2 Mar 2026: the 20 weekdays of February plus Mon 2 Mar = 21.
    due = deadlines({}, "email", "data_protection", None, "2026-01-31T10:00")
    assert due.reply_days == 21


def test_unknown_channel_is_refused() -> None:
    with pytest.raises(PolicyError, match="unknown channel 'fax'"):
        deadlines({}, "fax", None, None, "2026-11-23T10:00")


# --- policy check --------------------------------------------------------------------------


def errors(problems: list) -> list[str]:  # type: ignore[type-arg]
    return [str(p) for p in problems if p.level == "error"]


def test_check_reports_unknown_channel() -> None:
    found = errors(check_config({"policy": {"overrides": {"rule": [{"channel": "fax", "reply_days": 2}]}}}))
    assert found == ["error: policy.overrides.rule 1: unknown channel 'fax': use email, webform, post, voicemail, social"]


def test_check_reports_a_target_that_cannot_be_met() -> None:
    # Replying within 1 working day but acknowledging within 3 contradicts itself.
    found = errors(check_config({"policy": {"overrides": {"rule": [{"channel": "post", "reply_days": 1}]}}}))
    assert found and all("cannot be met" in f for f in found)
    assert any("channel post" in f for f in found)


def test_check_reports_a_statutory_limit_exceeded() -> None:
    config = {"policy": {"overrides": {"rule": [{"topic": "data_protection", "reply_months": 2}]}}}
    assert any("one calendar month" in f for f in errors(check_config(config)))


def test_check_reports_a_queue_with_no_handler() -> None:
    found = errors(check_config({}, {"complaints": ["Tom Evans"], "safeguarding": []}))
    assert found == ["error: queue safeguarding: has no handler: messages routed there would never be answered"]


def test_check_reports_every_mistake_at_once() -> None:
    config = {
        "organisation": {"nation": "gb", "opening_hours": {"mon": "9-5"}, "closures": ["2026-13-01"]},
        "policy": {"preset": "nope"},
    }
    found = errors(check_config(config))
    assert len(found) == 4
    assert any("organisation.nation" in f for f in found)
    assert any("organisation.opening_hours" in f for f in found)
    assert any("organisation.closures" in f for f in found)
    assert any("unknown preset 'nope'" in f for f in found)


def test_check_refuses_a_calendar_with_no_opening_hours() -> None:
    found = errors(check_config({"organisation": {"opening_hours": {"sat": "closed"}}}))
    assert any("no weekday has opening hours" in f for f in found)
