"""`frontdesk policy check` and `frontdesk policy explain`, through a parser shaped like the gateway's."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from gateway.policy.cli import register

HOURS = """
[organisation]
nation = "{nation}"
closures = []
[organisation.opening_hours]
mon = "09:00-17:00"
tue = "09:00-17:00"
wed = "09:00-17:00"
thu = "09:00-17:00"
fri = "09:00-16:30"
"""


def parser() -> argparse.ArgumentParser:
    """Like gateway/cli.py: a global --config, then the area's subcommands."""
    main = argparse.ArgumentParser(prog="frontdesk")
    main.add_argument("--config")
    register(main.add_subparsers(dest="command", required=True))
    return main


def write_config(tmp_path: Path, extra: str = "", nation: str = "england") -> Path:
    path = tmp_path / "frontdesk.toml"
    path.write_text(f'[gateway]\ndata_dir = "{tmp_path / "var"}"\n' + HOURS.format(nation=nation) + extra)
    return path


def run(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    return int(args.func(args))


def test_explain_json_gives_iso_times_with_offset(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(tmp_path)
    # Fri 27 Nov 2026 16:45, after the 16:30 Friday close: received Mon 30; post 3 working days
    # -> Tue 1, Wed 2, Thu 3 Dec at 17:00 GMT.
    status = run(["--config", str(config), "policy", "explain", "--channel", "post", "--received", "2026-11-27T16:45", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert status == 0
    assert out["acknowledge_by"] == "2026-12-03T17:00:00+00:00"
    assert out["reply_by"] == "2026-12-03T17:00:00+00:00"
    assert out["received"] == "2026-11-27T16:45:00+00:00"
    assert any("after closing time (16:30)" in r for r in out["reasons"])


def test_explain_nation_flag_changes_the_holidays(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(tmp_path)
    # Thu 26 Nov 2026 10:00, email 2 days. England: Fri 27 (1), Mon 30 (2).
    # Scotland: Fri 27 (1), Mon 30 is St Andrew's Day, Tue 1 Dec (2).
    base = ["policy", "--config", str(config), "explain", "--channel", "email", "--received", "2026-11-26T10:00", "--json"]
    assert run(base) == 0
    assert json.loads(capsys.readouterr().out)["reply_by"] == "2026-11-30T17:00:00+00:00"
    assert run([*base, "--nation", "scotland"]) == 0
    assert json.loads(capsys.readouterr().out)["reply_by"] == "2026-12-01T17:00:00+00:00"


def test_explain_with_preset_topic_and_stage(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(tmp_path)
    # CIPFA stage 2 (4 working days) from Mon 23 Nov 2026 10:00: Tue 24 ... Fri 27 (4).
    status = run(
        ["--config", str(config), "policy", "explain", "--preset", "cipfa", "--channel", "email",
         "--topic", "complaint", "--stage", "2", "--received", "2026-11-23T10:00"]
    )  # fmt: skip
    out = capsys.readouterr().out
    assert status == 0
    assert "Reply by:       Friday 27 November 2026 at 16:30 GMT" in out
    assert "Named:          senior manager" in out
    assert "Why:" in out and "stage 2" in out


def test_explain_unknown_preset_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(tmp_path)
    argv = [
        "--config",
        str(config),
        "policy",
        "explain",
        "--preset",
        "nope",
        "--channel",
        "email",
        "--received",
        "2026-11-23T10:00",
    ]
    status = run(argv)
    assert status == 2
    assert "unknown preset 'nope'" in capsys.readouterr().err


def test_explain_refuses_a_time_that_is_not_iso(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        parser().parse_args(["policy", "explain", "--channel", "email", "--received", "27/11/2026"])
    assert exit_info.value.code == 2
    assert "not an ISO 8601 time" in capsys.readouterr().err


def test_check_passes_a_good_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(tmp_path, '[policy]\npreset = "cssc"\n')
    assert run(["--config", str(config), "policy", "check"]) == 0
    assert "Policy OK" in capsys.readouterr().out


def test_check_fails_with_messages_and_nonzero_status(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    extra = '[policy]\npreset = "cssc"\n[[policy.overrides.rule]]\nchannel = "fax"\nreply_days = 2\n'
    config = write_config(tmp_path, extra)
    # --config after `policy` is accepted too.
    assert run(["policy", "--config", str(config), "check"]) == 1
    err = capsys.readouterr().err
    assert "unknown channel 'fax'" in err and "1 error(s)" in err


def test_check_finds_a_target_that_cannot_be_met(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    extra = '[policy]\npreset = "autus"\n[[policy.overrides.rule]]\ntopic = "complaint"\nreply_days = 1\n'
    config = write_config(tmp_path, extra)
    assert run(["--config", str(config), "policy", "check"]) == 1
    assert "cannot be met" in capsys.readouterr().err
