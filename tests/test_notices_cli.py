"""`frontdesk case ...` through gateway.cli.main: what staff type, what they are told, what the requester gets."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from gateway.cli import main
from gateway.mail.smtp import IntakeController
from gateway.policy.calendar import is_working_day, local
from gateway.services import Services
from gateway.store import Case, ForwardingNotice
from gateway.store.models import Notice
from tests.notice_support import body, first_bank_holiday, open_case, start_smtp
from tests.notice_support import notices as received_notices
from tests.support.relay import Relay


@pytest.fixture
def smtp(services: Services) -> Iterator[IntakeController]:
    yield from start_smtp(services)


@pytest.fixture
def cli_env(config_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The command reads the same settings as the test's services, from the environment."""
    for name, value in config_env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)  # no frontdesk.toml from the checkout


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["case", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_forward_update_and_show(
    services: Services, smtp: IntakeController, relay: Relay, cli_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    ref = open_case(services, smtp, relay).reference or ""
    code, out, _ = run(
        capsys, "forward", ref, "--to", "Membership team", "--contact", "membership@example.org, 020 7946 0001",
        "--reason", "They look after renewals", "--by", "Tom Evans",
    )  # fmt: skip
    assert code == 0 and f"{ref} forwarded to Membership team" in out and "notice sent to jo.bloggs@example.com" in out
    assert "membership@example.org, 020 7946 0001" in body(received_notices(relay, "forwarded")[0])
    code, out, _ = run(capsys, "update", ref, "--message", "We have asked for the payment records.", "--by", "Tom Evans")
    assert code == 0 and "progress notice sent" in out
    code, out, _ = run(capsys, "show", ref)
    assert code == 0 and ref in out and "Reply by:" in out and "Handler:" in out
    assert "forwarded: notice_id=" in out and "by=Tom Evans" in out and " progress: " in out
    assert "charged twice" not in out and "payment records" not in out  # neither the complaint nor the update text
    with services.store.session() as session:
        assert session.scalars(select(ForwardingNotice)).one().forwarded_by == "Tom Evans"


def test_extend_refuses_bad_dates_then_agrees_one(
    services: Services, smtp: IntakeController, relay: Relay, cli_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    case = open_case(services, smtp, relay)
    ref, (_, cal) = case.reference or "", services.policy
    current = local(cal, case.reply_by).date()
    code, _, err = run(capsys, "extend", ref, "--until", current.isoformat(), "--reason", "Complex", "--by", "Tom Evans")
    assert code == 2 and "not after the current due date" in err
    holiday = first_bank_holiday(cal, current)
    code, _, err = run(capsys, "extend", ref, "--until", holiday.isoformat(), "--reason", "Complex", "--by", "Tom Evans")
    assert code == 2 and "not a working day" in err and "bank holiday" in err
    later = next(d for d in (current + timedelta(n) for n in range(7, 30)) if is_working_day(cal, d))
    code, out, _ = run(capsys, "extend", ref, "--until", later.isoformat(), "--reason", "Complex", "--by", "Tom Evans")
    assert code == 0 and "now due by" in out
    with pytest.raises(SystemExit) as bad:
        main(["case", "extend", ref, "--until", "2nd December", "--reason", "Complex", "--by", "Tom Evans"])
    assert bad.value.code == 2 and "YYYY-MM-DD" in capsys.readouterr().err
    with services.store.session() as session:
        stored = session.get(Case, case.id)
        assert stored is not None and local(cal, stored.reply_by).date() == later


def test_escalate_twice_then_refused(
    services: Services, smtp: IntakeController, relay: Relay, cli_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    ref = open_case(services, smtp, relay).reference or ""
    for stage in (2, 3):
        code, out, _ = run(capsys, "escalate", ref, "--reason", "Not satisfied", "--by", "Priya Shah", "--key", f"esc-{stage}")
        assert code == 0 and f"escalated to stage {stage}" in out
    code, out, _ = run(capsys, "escalate", ref, "--reason", "Not satisfied", "--by", "Priya Shah", "--key", "esc-3")
    assert code == 0 and "already done with this --key" in out  # a retried command sends nothing new
    code, _, err = run(capsys, "escalate", ref, "--reason", "Not satisfied", "--by", "Priya Shah")
    assert code == 2 and "already at stage 3" in err
    assert len(received_notices(relay, "escalated", count=2)) == 2


@pytest.mark.parametrize("option", ["--to", "--reason"])
def test_bad_input_is_refused_with_a_clear_message(
    services: Services, smtp: IntakeController, relay: Relay, cli_env: None, capsys: pytest.CaptureFixture[str], option: str
) -> None:
    ref = open_case(services, smtp, relay).reference or ""
    values = {"--to": "Citizens Advice", "--contact": "0800 144 8848", "--reason": "Benefits", "--by": "Tom Evans"}
    values[option] = "Citizens Advice\r\nBcc: victim@example.net"
    code, _, err = run(capsys, "forward", ref, *(item for pair in values.items() for item in pair))
    assert code == 2 and f"{option} must be one line" in err
    code, _, err = run(capsys, "forward", "CS-2026-999999", "--to", "X", "--contact", "Y", "--reason", "Z", "--by", "A")
    assert code == 2 and "no case with reference 'CS-2026-999999'" in err
    code, _, err = run(capsys, "show", "CS-2026-999999")
    assert code == 2 and "no case with reference" in err
    with services.store.session() as session:
        assert session.scalars(select(Notice)).all() == []
    assert len(relay.received) == 1  # the acknowledgement only
