"""Topic classification: the bar on the dev set, and the behaviours the issue names.

Each test would fail with its feature removed: the figures drop, the indirect wording falls
through to a general enquiry, the angry complaint becomes abusive, the secondary topic vanishes.
"""

from __future__ import annotations

import argparse
import json
from email.message import EmailMessage
from pathlib import Path

import pytest

from gateway.classify import Classification, RuleSet, classify, load_rules
from gateway.classify.cli import register
from gateway.classify.evaluate import evaluate
from gateway.mail.parse import parse

DEVSET = Path(__file__).parent / "classify_devset"


@pytest.fixture(scope="module")
def rules() -> RuleSet:
    return load_rules()


def message(body: str, subject: str = "Hello", sender: str = "a.person@example.com", **headers: str) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "enquiries@example.org.uk"
    msg["Subject"] = subject
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(body)
    return msg.as_bytes()


def decide(rules: RuleSet, body: str, **kwargs: str) -> Classification:
    return classify(parse(message(body, **kwargs)), channel="email", form=None, rules=rules)


def test_bar_on_dev_set(rules: RuleSet) -> None:
    report = evaluate(DEVSET, rules)
    assert len(report.cases) >= 200
    precision, recall, _, _ = report.per_topic()["safeguarding"]
    assert recall >= 0.97 and precision >= 0.85
    assert report.automatic_acknowledged() == []
    assert report.humans_called_automatic() == []
    assert report.macro_f1() >= 0.90


@pytest.mark.parametrize("body", [
    "My daughter's coach messages her most nights. He told her to keep their chats secret.",
    "One of the girls in the group, she comes to sessions with bruises and won't say why.",
])
def test_indirect_safeguarding_wording(rules: RuleSet, body: str) -> None:
    got = decide(rules, body)
    assert got.topic == "safeguarding"
    assert any(r.startswith("safeguarding ") for r in got.reasons)


@pytest.mark.parametrize("body", [
    "Is the pool safe for children under five at the weekend?",
    "We'd like to hire the hall for a children's party on Saturday afternoon. How much is it?",
])
def test_innocent_safe_and_children(rules: RuleSet, body: str) -> None:
    assert decide(rules, body).topic != "safeguarding"


def test_safeguarding_wins_over_a_case_reference(rules: RuleSet) -> None:
    got = decide(rules, "Re CS-2026-000123: the coach keeps texting my son late at night and told him not to tell his mum.")
    assert got.topic == "safeguarding"


def test_angry_complaint_is_not_abusive(rules: RuleSet) -> None:
    body = ("Charged twice AGAIN. Absolutely f***ing ridiculous, your billing is a bloody shambles "
            "and your service is crap. Sort it out or I'm cancelling.")
    got = decide(rules, body)
    assert got.topic == "complaint"
    assert "abusive" not in got.secondary
    assert got.acknowledge


def test_threat_to_staff_is_abusive_and_not_acknowledged(rules: RuleSet) -> None:
    got = decide(rules, "I know where your office is and what time you finish. Watch your back.")
    assert got.topic == "abusive"
    assert not got.acknowledge


def test_complaint_with_access_request_keeps_both(rules: RuleSet) -> None:
    body = ("I want to make a formal complaint about how my cancellation was handled. Please also send me "
            "copies of all the personal data you hold about me.")
    got = decide(rules, body)
    assert got.topic == "complaint"
    assert "data_protection" in got.secondary


def test_form_answer_counts_only_for_webform(rules: RuleSet) -> None:
    msg = parse(message("The man who runs the group keeps asking my son to stay behind."))
    assert classify(msg, channel="webform", form={"about": "safety"}, rules=rules).topic == "safeguarding"
    got = classify(msg, channel="email", form={"about": "safety"}, rules=rules)
    assert not any("form-about-safety" in r for r in got.reasons)


def test_auto_reply_is_automatic_and_not_acknowledged(rules: RuleSet) -> None:
    got = decide(rules, "I am out of the office until Monday.", Auto_Submitted="auto-replied")
    assert got.topic == "automatic"
    assert not got.acknowledge
    assert any("Auto-Submitted" in r for r in got.reasons)


def test_human_saying_out_of_office_is_not_automatic(rules: RuleSet) -> None:
    got = decide(rules, "I was out of the office until today so only just saw your reply. Nobody has called me.")
    assert got.topic != "automatic"


def run_cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="frontdesk")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.func(args))


def test_explain_json_gives_every_file_a_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    garbage = tmp_path / "garbage.eml"
    garbage.write_bytes(b"\x00\xff\xfe" * 500 + b"\n\n--\r\n" + bytes(range(256)))
    missing = tmp_path / "missing.eml"
    good = DEVSET / "safeguarding" / "safe_001.eml"
    assert run_cli(["classify", "explain", "--json", str(garbage), str(missing), str(good)]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [Path(r["file"]).name for r in rows] == ["garbage.eml", "missing.eml", "safe_001.eml"]
    for row in rows:
        assert {"file", "topic", "secondary", "acknowledge", "reasons"} <= row.keys()
        assert isinstance(row["secondary"], list) and isinstance(row["acknowledge"], bool)
    assert any("parse defect" in r for r in rows[0]["reasons"])
    assert any("cannot read" in r for r in rows[1]["reasons"])
    assert rows[2]["topic"] == "safeguarding"


def test_eval_prints_figures_and_misses(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(["classify", "eval", str(DEVSET)]) == 0
    out = capsys.readouterr().out
    assert "macro-F1" in out and "confusion" in out and "misses:" in out


def test_queue_folder_holds_no_python() -> None:
    queue_dir = Path(__file__).resolve().parent.parent / "queue"
    assert not list(queue_dir.rglob("*.py"))
