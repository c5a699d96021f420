"""The validation rules of the public form, as small WTForms validators with catalogue wording.

Each rule says what is wrong in the GOV.UK way (specific, plain, using the label's words) and the
words come from the text catalogue at request time, so a translation changes the messages too.
The control-character rule runs first on every field: CR, LF and NUL must never reach an email
header, and NUL must never reach the store, so they are refused with a message a person can act on.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from wtforms import Field, Form
from wtforms.validators import StopValidation, ValidationError

from forms.catalogue import Catalogue

# Multi-line text may keep tab, CR and LF; single-line text keeps none of C0, DEL or the Unicode
# line and paragraph separators (some mail software treats those as line breaks too).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_LINE_BREAK = re.compile(r"[\r\n\x85\u2028\u2029]")
_PHONE_CHARS = re.compile(r"^\+?[0-9 ()\-.]+$")


def catalogue() -> Catalogue:
    """The catalogue of the running app (validators run inside a request)."""
    return current_app.extensions["frontdesk"].catalogue


def _label(key: str) -> str:
    return catalogue().text(f"labels.{key}")


def has_value(field: Field) -> bool:
    data = field.data
    if isinstance(data, str):
        return bool(data.strip())
    return bool(data)


class Clean:
    """Refuse NUL and other control characters; refuse line breaks in a single-line field."""

    def __init__(self, label_key: str, *, single_line: bool) -> None:
        self.label_key = label_key
        self.single_line = single_line

    def __call__(self, form: Form, field: Field) -> None:
        value = field.data if isinstance(field.data, str) else ""
        if self.single_line and _LINE_BREAK.search(value):
            raise StopValidation(catalogue().text("errors.one_line", label=_label(self.label_key)))
        if _CONTROL.search(value):
            raise StopValidation(catalogue().text("errors.control", label=_label(self.label_key)))


class MaxChars:
    """A real limit, set well above what people need (GOV.UK character count guidance)."""

    def __init__(self, limit: int, label_key: str) -> None:
        self.limit = limit
        self.label_key = label_key

    def __call__(self, form: Form, field: Field) -> None:
        if isinstance(field.data, str) and len(field.data) > self.limit:
            raise StopValidation(catalogue().text("errors.too_long", label=_label(self.label_key), max=f"{self.limit:,}"))


class Needed:
    """Required, with a message chosen when the form is checked (it may depend on other answers)."""

    def __init__(self, message_key: str | Callable[[Form], str]) -> None:
        self.message_key = message_key

    def __call__(self, form: Form, field: Field) -> None:
        if not has_value(field):
            key = self.message_key(form) if callable(self.message_key) else self.message_key
            field.errors[:] = []
            raise StopValidation(catalogue().text(key))


class WhenChosen:
    """Only check this field when `other` has one of `values`: the email address when replying by
    email, the language when an interpreter is asked for. Otherwise the answer is dropped, because
    it belongs to an option the person did not choose."""

    def __init__(self, other: str, values: Collection[str], message_key: str) -> None:
        self.other = other
        self.values = values
        self.message_key = message_key

    def __call__(self, form: Form, field: Field) -> None:
        chosen = form[self.other].data
        chosen_values = set(chosen) if isinstance(chosen, list) else {chosen}
        if not chosen_values & set(self.values):
            field.data = ""
            field.errors[:] = []
            raise StopValidation()
        if not has_value(field):
            field.errors[:] = []
            raise StopValidation(catalogue().text(self.message_key))


class OneOf:
    def __init__(self, allowed: Collection[str], message_key: str) -> None:
        self.allowed = allowed
        self.message_key = message_key

    def __call__(self, form: Form, field: Field) -> None:
        if field.data not in self.allowed:
            raise StopValidation(catalogue().text(self.message_key))


class AllOf:
    """Every ticked box must be one of ours (a crafted request may send anything)."""

    def __init__(self, allowed: Collection[str]) -> None:
        self.allowed = allowed

    def __call__(self, form: Form, field: Field) -> None:
        if any(value not in self.allowed for value in field.data or ()):
            raise StopValidation(catalogue().text("errors.choice"))


class EmailAddress:
    """email-validator's syntax check (no DNS: the form must work offline and answer fast)."""

    def __call__(self, form: Form, field: Field) -> None:
        value = field.data.strip()
        try:
            result = validate_email(value, check_deliverability=False)
        except EmailNotValidError as exc:
            raise ValidationError(catalogue().text("errors.email_format")) from exc
        # Punycode domain when the local part is ASCII, so the From header stays 7-bit.
        field.normalised = result.ascii_email or result.normalized


class PhoneNumber:
    """Any common format (spaces, brackets, +44, dashes), 7 to 15 digits (E.164); shown back as typed."""

    def __call__(self, form: Form, field: Field) -> None:
        value = field.data.strip()
        digits = re.sub(r"\D", "", value)
        if not _PHONE_CHARS.match(value) or not 7 <= len(digits) <= 15:
            raise ValidationError(catalogue().text("errors.phone_format"))


class Pattern:
    """A format check with a configurable pattern (membership or candidate numbers vary by body)."""

    def __init__(self, pattern: str, message_key: str) -> None:
        self.pattern = re.compile(pattern)
        self.message_key = message_key

    def __call__(self, form: Form, field: Field) -> None:
        if not self.pattern.fullmatch(field.data.strip().replace(" ", "").upper()):
            raise ValidationError(catalogue().text(self.message_key))
