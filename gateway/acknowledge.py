"""Compose acknowledgements and routed-work mail from the templates in templates/notices/.

Everything a person wrote reaches the templates as plain strings, and every header we set goes
through EmailMessage, which refuses CR or LF in a header value: customer text can never add a
header. The acknowledgement carries RFC 3834's Auto-Submitted: auto-replied so other robots stay
quiet, threads under the original (In-Reply-To, References) and carries the reference in the
subject so replies come back to the same case.
"""

from __future__ import annotations

import re
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import format_datetime, formataddr
from typing import Any

from gateway.assign import Assignment
from gateway.mail.parse import ParsedMessage
from gateway.services import Services
from gateway.store import Acknowledgement, Case, RawMessage
from gateway.templating import LONDON, long_date, render_file, template_version

TOPIC_LABELS = {
    "complaint": "complaint",
    "general_enquiry": "enquiry",
    "membership": "membership enquiry",
    "qualifications": "qualifications enquiry",
    "safeguarding": "safeguarding concern",
    "data_protection": "data protection request",
    "accessibility_request": "request",
    "compliment": "feedback",
    "abusive": "message",
    "automatic": "message",
    "follow_up": "message",
}
CHANNEL_LABELS = {
    "email": "by email",
    "webform": "through our online form",
    "post": "by post",
    "voicemail": "by voicemail",
    "social": "through social media",
}
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]+")


def one_line(text: str, limit: int = 200) -> str:
    """Customer text fit for a header: control characters (CR, LF, NUL...) become spaces."""
    return " ".join(_CONTROL.sub(" ", text).split())[:limit]


_ADDRESS_SPECIALS = re.compile(r'[<>@:;,"\\()\[\]]+')


def display_name(text: str) -> str:
    """A person's name fit for an address header: one line, no address syntax (so no extra recipients)."""
    return " ".join(_ADDRESS_SPECIALS.sub(" ", one_line(text, 100)).split())


def domain_of(address: str) -> str:
    return address.rsplit("@", 1)[-1] if "@" in address else "frontdesk.invalid"


def context(services: Services, case: Case, who: Assignment, due: Any) -> dict[str, Any]:
    """The plain values an acknowledgement template may use (documented in the README)."""
    config = services.config
    policy, calendar = services.policy
    from gateway.policy.calendar import describe_hours

    stages = []
    if case.topic == "complaint":
        for number in (1, 2, 3):
            target = policy.target(case.channel, case.topic, number)
            if target.reply_days:
                stages.append({"number": number, "days": target.reply_days, "description": target.named_role or "review"})
    target = policy.target(case.channel, case.topic, case.stage)
    org = {k: str(v) for k, v in config.organisation.items() if isinstance(v, str)}
    return {
        "org": org,
        "reference": case.reference,
        "requester_name": one_line(case.requester_name, 100),
        "subject": one_line(case.subject),
        "topic": case.topic,
        "topic_label": TOPIC_LABELS.get(case.topic, "message"),
        "channel": case.channel,
        "channel_label": CHANNEL_LABELS.get(case.channel, ""),
        "handler": who.as_context(),
        "acknowledge_by": case.acknowledge_by.astimezone(LONDON) if case.acknowledge_by else None,
        "reply_by": case.reply_by.astimezone(LONDON) if case.reply_by else None,
        "reply_by_long": long_date(case.reply_by) if case.reply_by else "",
        "reply_days": due.reply_days,
        "update_every_days": due.update_every_days or 0,
        "terms": due.terms,
        "stages": stages if len(stages) > 1 else [],
        "opening_hours": describe_hours(calendar),
    }


def build(services: Services, case: Case, raw: RawMessage, msg: ParsedMessage, who: Assignment, due: Any) -> Acknowledgement:
    """Render and compose the acknowledgement; it is stored pending and sent by `deliver`."""
    config = services.config
    root = config.templates_dir / "notices"
    values = context(services, case, who, due)
    team = config.teams[case.queue]
    # replies to a restricted case go to its team alone, not back into a shared mailbox others read
    reply_to = team.address if team.restricted or not config.mailbox(raw.mailbox) else raw.mailbox
    message_id = f"<ack.{case.reference}.{raw.id}@{domain_of(config.from_address)}>"
    mail = EmailMessage()
    mail["From"] = formataddr((one_line(str(config.organisation.get("name", "")), 100), config.from_address))
    mail["To"] = formataddr((display_name(case.requester_name), case.requester_email))
    mail["Subject"] = one_line(render_file(root, "acknowledgement.subject.txt", values), 250)
    mail["Date"] = format_datetime(case.created_at)
    mail["Message-ID"] = message_id
    mail["Reply-To"] = reply_to
    mail["Auto-Submitted"] = "auto-replied"
    mail["X-Auto-Response-Suppress"] = "All"
    if msg.message_id:
        mail["In-Reply-To"] = msg.message_id
        mail["References"] = " ".join([*msg.references[-10:], msg.message_id])
    mail.set_content(render_file(root, "acknowledgement.txt", values))
    mail.add_alternative(render_file(root, "acknowledgement.html", values), subtype="html")
    return Acknowledgement(
        case_id=case.id,
        recipient=case.requester_email,
        message_id=message_id,
        template="acknowledgement",
        template_version=template_version(root, "acknowledgement.subject.txt", "acknowledgement.txt", "acknowledgement.html"),
        due_by=case.acknowledge_by,
        rendered=mail.as_bytes(policy=SMTP_POLICY),
    )
