"""The policy engine: working days, policy presets and the deadlines of a message.

calendar.py counts working days; presets.py reads the preset tables; deadlines.py
applies them to one message; check.py validates the settings;
cli.py is `frontdesk policy`.
"""

from gateway.policy.calendar import (
    WorkingCalendar,
    add_working_days,
    is_working_day,
    make_calendar,
    next_opening,
    working_days_between,
)
from gateway.policy.check import Problem, check_config
from gateway.policy.presets import (
    CHANNELS,
    Deadlines,
    Policy,
    PolicyError,
    Target,
    compute_deadlines,
    load_policy,
    policy_from_config,
)

__all__ = [
    "CHANNELS",
    "Deadlines",
    "Policy",
    "PolicyError",
    "Problem",
    "Target",
    "WorkingCalendar",
    "add_working_days",
    "check_config",
    "compute_deadlines",
    "is_working_day",
    "load_policy",
    "make_calendar",
    "next_opening",
    "policy_from_config",
    "working_days_between",
]
