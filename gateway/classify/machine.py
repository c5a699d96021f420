"""Strong and weak evidence that a machine wrote a message, from gateway.hygiene's reasons.

Hygiene says *whether* to stay silent (any reason at all); the classifier also needs to know
*how sure* it is that no person wrote the text, because the two mistakes cost differently: a bounce
that is acknowledged starts a mail loop, while a person whose message is filed as ``automatic`` is
never read. So only evidence that a mail system made the message itself (a delivery report, an
RFC 3834 auto-reply, a list or bulk header, a null return path, MAILER-DAEMON) decides the topic;
a no-reply sender, a scanner's or voicemail system's ``Auto-Submitted: auto-generated`` or a relay
address only stops the acknowledgement, and the topic is read from the content.
"""

from __future__ import annotations

from collections.abc import Iterable

from gateway.hygiene import automatic_reasons
from gateway.mail.parse import ParsedMessage

# Hygiene reasons (by their opening words) that only a mail system produces.
STRONG_PREFIXES = ("Precedence:", "mailing-list header", "null Return-Path", "multipart/report",
                   "auto-response header x-autoreply", "auto-response header x-autorespond")
STRONG_AUTO_SUBMITTED = ("auto-replied", "auto-notified")
STRONG_SENDERS = ("mailer-daemon", "postmaster", "bounce", "bounces")
REPORT_TYPES = ("message/delivery-status", "message/disposition-notification", "message/feedback-report")


def is_strong(reason: str) -> bool:
    """True for a hygiene reason that a person's own mail never carries."""
    if reason.startswith(STRONG_PREFIXES):
        return True
    if reason.startswith("Auto-Submitted:"):
        return reason.split(":", 1)[1].strip().startswith(STRONG_AUTO_SUBMITTED)
    if reason.startswith("no-reply sender "):
        local = reason.removeprefix("no-reply sender ").split("@", 1)[0].lower()
        return local.split("+", 1)[0] in STRONG_SENDERS
    return False


def machine_evidence(msg: ParsedMessage, own_addresses: Iterable[str] = ()) -> tuple[list[str], list[str]]:
    """(strong, weak) reasons; both empty when nothing suggests a machine."""
    strong: list[str] = []
    weak: list[str] = []
    for reason in automatic_reasons(msg, own_addresses):
        (strong if is_strong(reason) else weak).append(reason)
    reports = sorted({a.content_type for a in msg.attachments if a.content_type in REPORT_TYPES})
    strong.extend(f"{kind} part (a delivery or read report)" for kind in reports)
    return strong, weak
