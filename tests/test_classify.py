"""Topic classification: the bar on the dev set, and the behaviours the issue names.

Each test would fail with its feature removed: the figures drop, the indirect wording falls
through to a general enquiry, the angry complaint becomes abusive, the secondary topic vanishes.
"""

from __future__ import annotations

import argparse
import dataclasses
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


@pytest.fixture
def rules_copy(tmp_path: Path) -> Path:
    """A copy of the shipped rule folder (TOML files only) for a test to change."""
    folder = tmp_path / "rules"
    folder.mkdir()
    for path in (Path(__file__).resolve().parent.parent / "queue" / "rules").glob("*.toml"):
        (folder / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    return folder


def test_bar_on_dev_set(rules: RuleSet) -> None:
    """Judged with a topic model trained on every other labelled set: the shipped one has read the dev set."""
    from gateway.classify.corpus import labelled_sets, read_items
    from gateway.classify.train import fit

    others = [s for s in labelled_sets() if s.name != DEVSET.name]
    assert len(others) >= 5
    unseen = dataclasses.replace(rules, model=fit(read_items(others, rules.max_chars)))
    report = evaluate(DEVSET, unseen)
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


@pytest.mark.parametrize("body", [
    "Is it safe to pay online for the under 9s camp? I couldn't see a padlock on the payment page.",
    "Do you run a safeguarding training course for volunteers, and how much is it?",
    "My son's under 10s need the kick-off time for Sunday. Is it still 10am?",
    "My daughter is two marks below the pass on her theory paper. Can she ask for a re-mark?",
])
def test_innocent_uses_stay_out_of_safeguarding(rules: RuleSet, body: str) -> None:
    assert decide(rules, body).topic != "safeguarding"


@pytest.mark.parametrize("body", [
    "My 15 year old keeps disappearing for days and comes back with cash and a second phone.",
    "My gran's new carer has started going to the bank with her card and money keeps disappearing.",
    "i dont see the point any more. ive written letters to my family.",
    "A volunteer keeps giving my son lifts home and told him to delete the messages.",
])
def test_safeguarding_categories_generalise(rules: RuleSet, body: str) -> None:
    assert decide(rules, body).topic == "safeguarding"


def test_threat_inside_complaint_is_abusive_with_complaint_kept(rules: RuleSet) -> None:
    got = decide(rules, "Fourth time you've messed up my direct debit, I'm disgusted and want a refund. "
                        "Tell Darren I'll be waiting for him in the car park after his shift.")
    assert got.topic == "abusive" and "complaint" in got.secondary and not got.acknowledge


def test_strong_machine_evidence_is_automatic_on_post_channel(rules: RuleSet) -> None:
    raw = message("Your message could not be delivered.", subject="Undelivered Mail Returned to Sender",
                  sender="MAILER-DAEMON@mx.example.org")
    got = classify(parse(raw), channel="post", form=None, rules=rules)
    assert got.topic == "automatic" and not got.acknowledge


def test_weak_machine_evidence_keeps_the_content_topic_and_stays_silent(rules: RuleSet) -> None:
    raw = message("Scanned letter: the car park potholes damaged my tyre and I want the cost of the repair covered. "
                  "This is not good enough.", subject="Scan", sender="scanner@example.org.uk", Auto_Submitted="auto-generated")
    got = classify(parse(raw), channel="post", form=None, rules=rules)
    assert got.topic == "complaint" and not got.acknowledge
    assert any("no-reply/machine address" in r for r in got.reasons)


def test_repeated_token_body_stays_cheap(rules: RuleSet) -> None:
    import time

    msg = parse(message(("my son told me that he hit her " * 140)[:4096]))
    started = time.perf_counter()
    for _ in range(5):
        classify(msg, channel="email", form=None, rules=rules)
    assert (time.perf_counter() - started) / 5 < 0.2  # generous: the point is no quadratic blow-up


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


@pytest.mark.parametrize("body", [
    "pls ring me about what mr hughes said to my lad on the minibus. he said if he tells anyone hes off the team.\n"
    "hes 11 and scared stiff to go back.",
    "My 9 year old said the swimming teacher makes her feel uncomfortable in the changing rooms.",
    "Dad has dementia. Someone from the centre looks after his card and he has been lending him money.",
    "can you tell Sam im sorry i wont be coming back. ive given my art stuff to Maisie. its not anyones fault. bye",
    "He was parked outside her school gates again today and offered her a lift home.",
])
def test_wrapped_and_indirect_safeguarding_families(rules: RuleSet, body: str) -> None:
    assert decide(rules, body).topic == "safeguarding"


@pytest.mark.parametrize("body", [
    "My son gets very anxious before exams and is worried about his results. Can he sit in a smaller room?",
    "The members' forum is being abused by spam accounts. Is there a way to report posts?",
    "My daughter turns 16 in March. Does her junior membership switch to adult? Does she still need a parent to sign forms?",
    "I'm a child protection social worker and my Unit 3 result shows absent. Can you check it?",
])
def test_everyday_worries_and_innocent_abuse_words_stay_out(rules: RuleSet, body: str) -> None:
    assert decide(rules, body).topic != "safeguarding"


@pytest.mark.parametrize("body", [
    "Mr Khan is a gutless little rat. I've found out which branch he works at. He should watch himself in the car park.",
    "chloe i waited by your car again last night. i know which bus you get. you cant keep avoiding me",
    "I know your kids go to St Mary's. Think about that before you refuse my claim again.",
    "Tell him I'm watching, and I'll be waiting at the\nschool gates if he doesn't reopen it.",
])
def test_threats_and_stalking_of_staff_are_abusive(rules: RuleSet, body: str) -> None:
    got = decide(rules, body)
    assert got.topic == "abusive" and not got.acknowledge


@pytest.mark.parametrize("body", [
    "I wanted to write to thank Ms Adeyemi. She was thorough and kept me informed at every stage.",
    "Dear Sir, I write to commend your assessor, Mrs Okafor, for her professionalism.",
])
def test_reserved_praise_is_a_compliment(rules: RuleSet, body: str) -> None:
    assert decide(rules, body).topic == "compliment"



@pytest.mark.parametrize("body", [
    "im going to hurt myself tonight properly this time. i just wanted someone to know it wasnt anyones fault.",
    "I'm going to hurt myself. I can't do this anymore.",
    "i dont want to be here anymore. im going to end it",
    "I'll kill myself if this carries on, I just want to end it.",
    "I keep thinking about cutting myself again after club.",
    "I'm going to smash my own face in, I can't cope any more.",
    "im gonna hit myself till it stops",
])
def test_own_self_harm_talk_is_safeguarding_never_abusive(rules: RuleSet, body: str) -> None:
    """A threat needs someone else as its target: 'hurt myself' is a risk to the writer, not abuse of staff."""
    got = decide(rules, body)
    assert got.topic == "safeguarding" and "abusive" not in got.secondary


@pytest.mark.parametrize("body", [
    "Could someone look into who is collecting Maisie (7) after Saturday gymnastics? It isn't her dad.",
    "There's been a man at pickup the last two weeks waiting by the gate for the under 9s. Nobody knows who he is.",
    "My son said a man who isn't on the list tried to collect him after swimming.",
])
def test_unknown_adult_collecting_children_is_safeguarding(rules: RuleSet, body: str) -> None:
    assert decide(rules, body).topic == "safeguarding"


@pytest.mark.parametrize("body", [
    "Can my husband collect our son on Friday? He's not on the form yet.",
    "Who is collecting the tickets at the door on Saturday?",
])
def test_ordinary_collection_arrangements_are_not_safeguarding(rules: RuleSet, body: str) -> None:
    assert decide(rules, body).topic != "safeguarding"


@pytest.mark.parametrize("body", [
    "I have been keeping a file on each of the people in your membership team. I would hate for anything to happen "
    "to any of them.",
    "You ring me one more time and I'm coming down there. I'll wait for you outside.",
    "Someone ought to burn that building of yours down with all of you still sat at your desks, thanks to you.",
    "A pervert like that has no business near members. He should be dragged out of that building.",
    "I've found her on Facebook. I know which school her kids go to. Tell her to check her windows tonight.",
])
def test_threats_without_swearing_are_abusive(rules: RuleSet, body: str) -> None:
    got = decide(rules, body)
    assert got.topic == "abusive" and not got.acknowledge


@pytest.mark.parametrize("body", [
    "What should be in a first aid kit for our junior sessions? Mostly we deal with bruises, the odd twisted ankle "
    "and nosebleeds.",
    "My daughter sat her Grade 5 exam with a badly bruised foot (she'd fallen at school the day before). Can we appeal?",
    "I wish to complain about the feature on elder abuse in the March magazine: it misquoted the research.",
    "Dinner turned up at 10pm stone cold and my daughter got her award in the corridor. I want a refund.",
    "Please cancel my membership from the next renewal date. Thanks for everything over the years.",
])
def test_innocent_injury_and_articles_are_not_safeguarding(rules: RuleSet, body: str) -> None:
    assert decide(rules, body).topic != "safeguarding"


@pytest.mark.parametrize("body", [
    "My daughter came home from training with bruises and cuts on her arms and won't say why.",
    "My daughter sat her exam with a bruised wrist where the coach grabbed her.",
    "I read an article about elder abuse and now I'm worried about my nan at your day centre: she has bruises on her arms.",
])
def test_innocent_exceptions_do_not_hide_real_concerns(rules: RuleSet, body: str) -> None:
    assert decide(rules, body).topic == "safeguarding"


# The topic model (model.py): paraphrases in no labelled set that the rules alone get wrong.
MODEL_CATCHES = [
    ("safeguarding", "There is a small boy in the flat above mine, he comes to your kids club. I have heard him crying for "
                     "two days and I think nobody is with him. I knocked and he said his mummy is at work since Friday."),
    ("safeguarding", "My nan's new carer has started doing her banking for her and now there's never any money for shopping."),
    ("data_protection", "I'd like a copy of everything on file about me please, including notes from phone calls."),
]


@pytest.mark.parametrize(("topic", "body"), MODEL_CATCHES)
def test_model_catches_what_the_rules_miss_and_says_why(rules: RuleSet, topic: str, body: str) -> None:
    assert rules.model is not None
    assert decide(dataclasses.replace(rules, model=None), body).topic != topic
    got = decide(rules, body)
    assert got.topic == topic
    reason = next(r for r in got.reasons if r.startswith(f"{topic} +") and " model: probability " in r)
    assert " from '" in reason  # the words that moved it, for staff to read


HEADERLESS_MACHINES = [
    "Your payment of £45.00 to Riverside Leisure Trust was successful. Transaction ID 88213-AB. Card ending 4421. "
    "Keep this email for your records.",
    "Accepted: Volunteers' planning meeting @ Thu 14 May 2026 19:00 - 20:30 (GMT). Jo Parry has accepted this invitation.",
    "Accepted: EPA standardisation meeting for assessors @ Tue 9 Jun 2026 10:00 - 12:00 (BST). Priya Shah has accepted "
    "this invitation. BEGIN:VCALENDAR METHOD:REPLY BEGIN:VEVENT PARTSTAT=ACCEPTED END:VEVENT END:VCALENDAR",
    "Hello, thank you for your message. I am away until 18 May with no access to email. For urgent matters please "
    "contact the office on 01632 960000.",
]


@pytest.mark.parametrize("body", HEADERLESS_MACHINES)
def test_model_recognises_a_machine_without_its_headers(rules: RuleSet, body: str) -> None:
    """A receipt, an acceptance, an auto-reply sent with no header that says so: the model's own vote counts as
    machine wording on mail from outside, never on the web form (a person typed it there)."""
    assert decide(dataclasses.replace(rules, model=None), body).topic != "automatic"
    got = decide(rules, body)
    assert got.topic == "automatic" and not got.acknowledge
    assert any(r.startswith("automatic +") and " model: probability " in r for r in got.reasons)
    assert classify(parse(message(body)), channel="webform", form={"about": "question"}, rules=rules).topic != "automatic"


# A guard on the model's machine vote (it must not reach a person who writes about machine mail).
@pytest.mark.parametrize("body", [
    "I got your automatic confirmation email saying my booking was confirmed, but the session was full when I "
    "arrived. Third time now. Can someone sort it out?",
    "Your out-of-office said you'd be back on Monday. It's Thursday. I still have no reply about my refund.",
])
def test_a_person_writing_about_machine_mail_is_a_person(rules: RuleSet, body: str) -> None:
    got = decide(rules, body)
    assert got.topic == "complaint" and got.acknowledge


def test_relay_channel_sender_does_not_make_a_voicemail_automatic(rules: RuleSet) -> None:
    """A transcriber's no-reply address and footer are how every voicemail arrives: the person's topic stands, silently."""
    raw = message("Hello it's Doreen Walsh I need your postal address to send a letter about my late husband's "
                  "account can someone ring me back on 07700 900123\n\nThis transcript was automatically generated.",
                  sender="voicemail-noreply@telephony.example.net")
    on_voicemail = classify(parse(raw), channel="voicemail", form=None, rules=rules)
    assert on_voicemail.topic != "automatic" and not on_voicemail.acknowledge
    assert classify(parse(raw), channel="email", form=None, rules=rules).topic == "automatic"


def test_harassment_words_about_a_child_do_not_leave_the_reporter_unanswered(rules: RuleSet) -> None:
    got = decide(rules, "I found messages on my daughter's phone from her coach. He asked what she's wearing and "
                        "wanted a photo of her in her underwear. She is 13.")
    assert got.topic == "safeguarding" and "abusive" not in got.secondary and got.acknowledge
    threat = decide(rules, "My son's coach slapped him at training. And I know where your manager lives, "
                           "I'll be waiting outside her house. Watch your back.")
    assert threat.topic == "safeguarding" and "abusive" in threat.secondary and not threat.acknowledge


def test_stored_model_is_what_scikit_learn_trained(tmp_path: Path) -> None:
    """model.py's plain-Python forward pass gives scikit-learn's probabilities, through the saved file."""
    from gateway.classify.corpus import read_items
    from gateway.classify.model import read_model
    from gateway.classify.train import fit, save

    items = read_items([DEVSET], 12000)
    model = fit(items[::2])
    save(model, tmp_path / "model.json")
    stored = read_model(tmp_path, "model.json")
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    from gateway.classify.model import terms
    from gateway.classify.train import MIN_DF, C

    vec = TfidfVectorizer(analyzer=terms, min_df=MIN_DF, sublinear_tf=True)
    x = vec.fit_transform([it.text for it in items[::2]])
    clf = LogisticRegression(C=C, max_iter=5000, class_weight="balanced").fit(x, [it.topic for it in items[::2]])
    held = [it.text for it in items[1::2]][:60]
    for text, want in zip(held, clf.predict_proba(vec.transform(held)), strict=True):
        got, _ = stored.probabilities(text)
        assert max(abs(got[t] - p) for t, p in zip(clf.classes_, want, strict=True)) < 2e-3


def test_broken_model_file_is_a_clear_error(rules_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (rules_copy / "model.json").write_text('{"topics": ["complaint"], "bias": [0.1, 0.2], "terms": {}}', encoding="utf-8")
    with pytest.raises(ValueError, match=r"model\.json: every row needs one weight per topic"):
        load_rules(rules_copy)
    (rules_copy / "model.json").unlink()
    with pytest.raises(ValueError, match=r"model\.json is missing"):
        load_rules(rules_copy)
    from gateway.classify.cli import main

    assert main(["classify", "explain", str(DEVSET / "compliment" / "comm_r2_001.eml"), "--rules", str(rules_copy)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("frontdesk: topic rules error: ") and "model.json is missing" in err[0]


def test_train_rebuilds_a_missing_model_and_never_tests_on_what_it_read(rules_copy: Path,
                                                                         capsys: pytest.CaptureFixture[str]) -> None:
    from gateway.classify.train import main

    heldout = DEVSET.parent / "classify_heldout"
    assert main([str(DEVSET), str(heldout), "--rules", str(rules_copy), "--test", str(heldout), "--save"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("400 messages in 1 sets")  # the tested folder left out of training
    model = load_rules(rules_copy).model
    assert model is not None and "classify_heldout" not in model.made_by and "classify_devset" in model.made_by


def test_eval_says_when_the_model_is_off(rules_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    decision = rules_copy / "decision.toml"
    text = decision.read_text(encoding="utf-8")
    decision.write_text(text.replace("[decision.model]\nenabled = true", "[decision.model]\nenabled = false"), encoding="utf-8")
    from gateway.classify.cli import run_eval

    run_eval(argparse.Namespace(folder=DEVSET / "compliment", rules=rules_copy))
    assert capsys.readouterr().out.splitlines()[0].startswith("warning: topic model off")
    run_eval(argparse.Namespace(folder=DEVSET / "compliment", rules=None))
    assert capsys.readouterr().out.splitlines()[0].startswith("topic model: python -m gateway.classify.train --save")


@pytest.mark.parametrize("body", [
    "Please cancel my direct debit for the gym membership from next month. I've decided to end my life this weekend.",
    "Can I get a copy of my exam certificate? I'm thinking of killing myself, there's no point any more.",
    "Please update my address. My husband beats me and I've had to leave with the kids.",
])
def test_harm_named_outright_wins_inside_any_other_topic(rules: RuleSet, body: str) -> None:
    got = decide(rules, body)
    assert got.topic == "safeguarding" and got.acknowledge


@pytest.mark.parametrize("body", [
    "Please stop calling me at work about the renewal. If it happens again I'll report you to the ombudsman.",
    "Your receptionist was rude and dismissive to my mother. She needs retraining, and I expect an apology.",
    "Shame on you all. You should be ashamed of how you treated my mum at the day centre last week.",
    "This is the fourth time I've chased my refund. If I don't hear by Friday my solicitor will be in touch.",
])
def test_a_firm_complaint_is_answered_not_sent_to_the_line_manager(rules: RuleSet, body: str) -> None:
    """The model may make a threat count; on its own it must be sure before anger is filed as abuse."""
    got = decide(rules, body)
    assert got.topic != "abusive" and "abusive" not in got.secondary and got.acknowledge


def test_a_concern_from_a_no_reply_system_is_not_filed_as_a_machine(rules: RuleSet) -> None:
    """A voicemail-to-email system posting to an ordinary mailbox: its footer is machine wording, the words a person's."""
    body = ("New voicemail from 07700 900456. Transcript: hi it's about the little boy next door he's been left on his "
            "own since friday I can hear him crying at night and nobody answers the door\n\n"
            "This message was generated automatically. Please do not reply to this email.")
    got = decide(rules, body, sender="noreply@voicemail.example.net")
    assert got.topic == "safeguarding" and not got.acknowledge  # the officer gets it; the system gets no reply


def test_a_receipt_on_a_relay_mailbox_from_an_ordinary_sender_is_a_machine(rules: RuleSet) -> None:
    """Only a system sender on voicemail@, post@ or social@ means 'relayed'; a receipt from an ordinary address is a receipt."""
    body = HEADERLESS_MACHINES[0]
    got = classify(parse(message(body, sender="payments@riverside-leisure.example")), channel="post", form=None, rules=rules)
    assert got.topic == "automatic" and not got.acknowledge


# Word families added after heldout3, each checked by a paraphrase that is in no labelled set.
FAMILIES = [
    ("safeguarding", "Can you tell me when the exam results come out? If I've failed there's no point in living. "
                     "I've written notes for my dad and my sister already."),
    ("safeguarding", "Please cancel my membership renewal and don't post anything to the house. "
                     "My husband has hit me before and the children are frightened of him."),
    ("safeguarding", "My uncle is a member. His flat is full of old bags and rubbish, he's barely eating "
                     "and not taking his heart tablets, and he lives alone."),
    ("safeguarding", "A coach at our previous club was found messaging some of the juniors on a fake profile; it was hushed up."),
    ("safeguarding", "My neighbour has dementia. A man keeps taking her to the bank and she signed some papers about the "
                     "house; she doesn't know what she signed."),
    ("abusive", "Lovely house, Tom. The green front door looks smart. You always leave the back gate open."),
    ("abusive", "Give my regards to your husband and your little boys. It would be a shame if anything were to happen."),
    ("abusive", "Whoever turned down my appeal deserves a beating. I know who sits on that panel. Tick tock."),
    ("abusive", "Shame about all that old timber in your office. Be awful if the whole place had a fire one night."),
    ("accessibility_request", "Membership number 55012. Please send all my letters in Polish from now on."),
    ("safeguarding", "I've started cutting again and the counselling waiting list is six months. How long is your wait?"),
    ("safeguarding", "Please cancel my membership, I won't be needing it. I've put my affairs in order. "
                     "Thank you for everything."),
    ("safeguarding", "Thanks for the session notes. Honestly most days I just wish I could disappear."),
    ("general_enquiry", "My neighbour's son is worried he'll fail; nobody will find him a place on the course, "
                        "is there a waiting list?"),
]


@pytest.mark.parametrize(("topic", "body"), FAMILIES)
def test_wording_families(rules: RuleSet, topic: str, body: str) -> None:
    got = decide(rules, body)
    assert got.topic == topic, got.reasons
    # the family itself matched: a broken word list must not hide behind the model
    assert any(r.startswith(f"{topic} +") and " model: " not in r for r in got.reasons), got.reasons


@pytest.mark.parametrize("body", [
    "Our funeral plan: my mother wants her affairs in order before she moves house. What does the plan cover?",
    "The council started cutting again: the library is closing. Can your group help us find a new room?",
])
def test_warning_sign_phrases_in_their_innocent_sense(rules: RuleSet, body: str) -> None:
    assert decide(rules, body).topic != "safeguarding"
