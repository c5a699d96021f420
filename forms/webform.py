"""The two public forms: the opening question (what it is about) and the details.

Field names are also the names of the `X-Frontdesk-Form-<Name>` headers the gateway reads, so they
are short, stable and English whatever the page language. Rendering is done by the templates
(GOV.UK markup); this module only says what is asked and how answers are checked.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping

from flask_wtf import FlaskForm
from wtforms import Field, Form, HiddenField, MultipleFileField, StringField, TextAreaField
from wtforms.validators import Optional

from forms.checks import AllOf, Clean, EmailAddress, MaxChars, Needed, OneOf, Pattern, PhoneNumber, WhenChosen
from forms.uploads import Files, Upload

ABOUT = ("complaint", "question", "feedback", "safety", "qualification")
REPLY = ("email", "phone", "post", "none")
ADJUSTMENTS = ("large_print", "audio", "bsl", "braille", "easy_read", "interpreter")
DETAILS_MAX = 15_000
OUTCOME_MAX = 5_000
DEFAULT_MEMBERSHIP = r"[A-Z]{0,2}[0-9]{5,10}"
_KEY = re.compile(r"^[0-9a-f]{32}$")


def _strip(value: object) -> object:
    return value.strip() if isinstance(value, str) else value


def _details_message(form: Form) -> str:
    return "errors.details_required_question" if form.about.data == "question" else "errors.details_required"


class Boxes(Field):
    """A group of checkboxes: every ticked value, checked against our list by AllOf (WTForms'
    SelectMultipleField would also do that, with its own English message)."""

    def process_formdata(self, valuelist: list[str]) -> None:
        self.data = [str(v) for v in valuelist]

    def _value(self) -> str:
        return ",".join(self.data or [])


class AboutForm(FlaskForm):
    """Step one: the topic decides the questions that follow and whether the safety route shows."""

    about = StringField("about", validators=[OneOf(ABOUT, "about.required")])


def details_form_class(membership_pattern: str = DEFAULT_MEMBERSHIP, max_files: int = 3, max_bytes: int = 0) -> type:
    """Build the details form with this installation's membership format and file limits."""
    file_rule = Files(max_files, max_bytes) if max_bytes else Files(max_files)

    class DetailsForm(FlaskForm):
        about = HiddenField(validators=[OneOf(ABOUT, "about.required")])
        key = HiddenField()
        details = TextAreaField(
            validators=[Needed(_details_message), Clean("details", single_line=False), MaxChars(DETAILS_MAX, "details")]
        )
        outcome = TextAreaField(validators=[Optional(), Clean("outcome", single_line=False), MaxChars(OUTCOME_MAX, "outcome")])
        membership = StringField(
            filters=[_strip],
            validators=[
                Optional(),
                Clean("membership", single_line=True),
                MaxChars(20, "membership"),
                Pattern(membership_pattern, "errors.membership_format"),
            ],
        )
        name = StringField(filters=[_strip], validators=[Optional(), Clean("name", single_line=True), MaxChars(200, "name")])
        reply = StringField(validators=[OneOf(REPLY, "errors.reply_required")])
        email = StringField(
            filters=[_strip],
            validators=[
                WhenChosen("reply", ("email",), "errors.email_required"),
                Clean("email", single_line=True),
                MaxChars(254, "email"),
                EmailAddress(),
            ],
        )
        phone = StringField(
            filters=[_strip],
            validators=[
                WhenChosen("reply", ("phone",), "errors.phone_required"),
                Clean("phone", single_line=True),
                MaxChars(40, "phone"),
                PhoneNumber(),
            ],
        )
        address = TextAreaField(
            filters=[_strip],
            validators=[
                WhenChosen("reply", ("post",), "errors.address_required"),
                Clean("address", single_line=False),
                MaxChars(500, "address"),
            ],
        )
        adjustments = Boxes(validators=[AllOf(ADJUSTMENTS)])
        language = StringField(
            filters=[_strip],
            validators=[
                WhenChosen("adjustments", ("interpreter",), "errors.language_required"),
                Clean("language", single_line=True),
                MaxChars(100, "language"),
            ],
        )
        files = MultipleFileField(validators=[file_rule])
        # The honeypot: hidden from people by CSS, named so form-filling bots want to fill it.
        website = StringField()

        def answers(self) -> dict[str, str]:
            """The checked answers as plain strings, keyed by field name (empty when not given)."""
            email = getattr(self.email, "normalised", "") if self.email.data else ""
            return {
                "about": self.about.data,
                "details": self.details.data or "",
                "outcome": self.outcome.data or "",
                "membership": (self.membership.data or "").replace(" ", "").upper(),
                "reply": self.reply.data,
                "name": self.name.data or "",
                "email": email,
                "phone": self.phone.data or "",
                "address": self.address.data or "",
                "adjustments": ",".join(a for a in ADJUSTMENTS if a in (self.adjustments.data or ())),
                "language": self.language.data or "",
            }

        def uploads(self) -> list[Upload]:
            return list(getattr(self.files, "uploads", []))

    return DetailsForm


def fresh_key(value: object) -> str:
    """The one-time submission key from the page, or a new one when it is missing or malformed."""
    return value if isinstance(value, str) and _KEY.match(value) else uuid.uuid4().hex


def error_list(form: FlaskForm) -> list[tuple[str, str]]:
    """(field name, message) in page order, for the error summary; the CSRF field is not a question."""
    errors: Mapping[str, list[str]] = form.errors
    return [(name, messages[0]) for name, messages in errors.items() if messages and name != "csrf_token"]
