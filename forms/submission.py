"""Turn checked form answers into the RFC 5322 message the gateway stores, like any email.

The form goes through the same door as mail (intake, then the pipeline), so a form submission is an
email: From is the person (or an anonymous placeholder), the answers travel in
`X-Frontdesk-Form-<Name>` headers that the gateway trusts only for source "form", the text is the
body and files are MIME parts. Validation already refused CR, LF and NUL in single-line answers;
`header_value` removes them again so no future caller can turn an answer into a header.
"""

from __future__ import annotations

import email.policy
import hashlib
import re
from collections.abc import Mapping
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from zoneinfo import ZoneInfo

from forms.uploads import Upload

ANONYMOUS = "anonymous@web-form.invalid"
PLACEHOLDER = "utf8-address-placeholder@web-form.invalid"
LONDON = ZoneInfo("Europe/London")
HEADER_PREFIX = "X-Frontdesk-Form-"
# The answers that go into headers, in order; details and outcome are long and go in the body.
HEADER_FIELDS = ("about", "reply", "name", "email", "phone", "address", "membership", "adjustments", "language")
ABOUT_WORDS = {
    "complaint": "A complaint",
    "question": "A question",
    "feedback": "Feedback or a compliment",
    "safety": "A concern about someone's safety",
    "qualification": "An exam result or assessment",
}
_UNSAFE = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029]+")
_NAME_PUNCTUATION = re.compile(r"[<>\"\\,;:@()\[\]]")


def header_value(value: str) -> str:
    """One line, no control characters: a value that can never start a new header."""
    return _UNSAFE.sub(" ", value).strip()


def _sender(answers: Mapping[str, str]) -> tuple[Address, bytes]:
    """(From address, UTF-8 address to put in its place). The display name loses address
    punctuation only here; the name is kept verbatim in X-Frontdesk-Form-Name.

    An address with a non-ASCII local part (RFC 6531) cannot be written in 7-bit headers, so the
    message is generated with a placeholder and the address is put in as UTF-8 afterwards: every
    other header stays RFC 2047-encoded ASCII, which every parser reads.
    """
    name = _NAME_PUNCTUATION.sub(" ", header_value(answers.get("name", "")))
    name = re.sub(r"\s+", " ", name).strip()
    addr = header_value(answers.get("email", ""))
    if not addr:
        return Address(display_name=name or "Anonymous", addr_spec=ANONYMOUS), b""
    if addr.isascii():
        return Address(display_name=name, addr_spec=addr), b""
    return Address(display_name=name, addr_spec=PLACEHOLDER), addr.encode("utf-8")


def body_text(answers: Mapping[str, str], uploads: list[Upload], received: datetime) -> str:
    """A plain record of the answers for the people handling it (their working language is English)."""
    lines = [
        f"About: {ABOUT_WORDS.get(answers['about'], answers['about'])}",
        "",
        "What happened:" if answers["about"] != "question" else "Question:",
        answers["details"],
        "",
    ]
    if answers.get("outcome"):
        lines += ["What they would like done:", answers["outcome"], ""]
    reply = {"none": "Do not reply (anonymous)"}.get(answers["reply"], answers["reply"].capitalize())
    lines += [f"How to reply: {reply}"]
    for label, key in (
        ("Name", "name"),
        ("Email", "email"),
        ("Phone", "phone"),
        ("Postal address", "address"),
        ("Membership or candidate number", "membership"),
        ("Adjustments", "adjustments"),
        ("Interpreter language", "language"),
    ):
        if answers.get(key):
            lines.append(f"{label}: {answers[key]}")
    if uploads:
        lines.append("Files: " + ", ".join(u.filename for u in uploads))
    lines += ["", f"Sent through the web form at {received.astimezone(LONDON):%Y-%m-%d %H:%M %Z}."]
    return "\n".join(lines) + "\n"


def build_message(
    answers: Mapping[str, str],
    uploads: list[Upload],
    *,
    to_addr: str,
    id_domain: str,
    received: datetime,
) -> bytes:
    """The raw message for `submit_form`; CRLF line endings, as SMTP would deliver it."""
    sender, utf8_addr = _sender(answers)
    policy = email.policy.SMTP
    msg = EmailMessage(policy=policy)
    msg["From"] = sender
    msg["To"] = to_addr
    msg["Subject"] = f"Web form: {ABOUT_WORDS.get(answers['about'], 'message')}"
    msg["Date"] = format_datetime(received.astimezone(LONDON))
    msg["Message-ID"] = make_msgid(idstring="form", domain=id_domain)
    msg["Auto-Submitted"] = "no"
    for field in HEADER_FIELDS:
        value = header_value(answers.get(field, "").replace("\r\n", ", ").replace("\n", ", "))
        if value:
            msg[HEADER_PREFIX + field.capitalize()] = value
    msg.set_content(body_text(answers, uploads, received))
    for upload in uploads:
        maintype, subtype = upload.content_type.split("/", 1)
        msg.add_attachment(upload.data, maintype=maintype, subtype=subtype, filename=upload.filename)
    raw = msg.as_bytes(policy=policy)
    if utf8_addr:
        raw = raw.replace(PLACEHOLDER.encode("ascii"), utf8_addr, 1)
    return raw


def answers_digest(answers: Mapping[str, str], uploads: list[Upload]) -> str:
    """Identifies the content of a submission: the same answers sent twice are one message."""
    digest = hashlib.sha256()
    for key in sorted(answers):
        digest.update(f"{key}\x00{answers[key]}\x00".encode("utf-8", "surrogatepass"))
    for upload in uploads:
        digest.update(upload.filename.encode("utf-8", "surrogatepass") + b"\x00")
        digest.update(hashlib.sha256(upload.data).digest())
    return digest.hexdigest()
