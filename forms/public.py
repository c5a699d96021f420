"""The public pages: what it is about, the safety interruption, the details form, the confirmation.

The journey is GOV.UK-shaped: one opening question, then (for a safety concern) a calm page with
the safeguarding route and "Exit this page", then one page of related questions ending in "Send".
A submission is committed to the store by the gateway before the confirmation page is shown
(post/redirect/get), and sending the same answers twice (double click, back button) opens one case.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, current_app, redirect, render_template, request, session, url_for
from flask_wtf.csrf import CSRFError
from werkzeug.wrappers import Response as BaseResponse

from forms.submission import answers_digest, build_message
from forms.webform import ABOUT, AboutForm, error_list, fresh_key

bp = Blueprint("public", __name__)
log = logging.getLogger("frontdesk.web")

Page = str | tuple[str, int] | BaseResponse


def _state() -> Any:
    return current_app.extensions["frontdesk"]


def _details_form_class() -> type:
    return current_app.extensions["frontdesk.details_form"]


@bp.route("/", methods=["GET", "POST"])
def about() -> Page:
    form = AboutForm()
    if form.validate_on_submit():
        if form.about.data == "safety":
            return redirect(url_for(".safety"), 303)
        return redirect(url_for(".details", about=form.about.data), 303)
    if request.method == "GET" and request.args.get("about") in ABOUT:
        form.about.data = request.args["about"]
    return render_template("about.html", form=form, errors=error_list(form))


@bp.get("/safety")
def safety() -> str:
    return render_template("safety.html", handler=_state().config.teams.get("safeguarding"))


def _render_details(form: Any, *, notice: str = "", status: int = 200) -> tuple[str, int]:
    errors = error_list(form)
    return render_template("details.html", form=form, errors=errors, notice=notice), status


@bp.route("/details", methods=["GET", "POST"])
def details() -> Page:
    form = _details_form_class()()
    if request.method == "GET":
        about = request.args.get("about", "")
        if about not in ABOUT:
            return redirect(url_for(".about"), 303)
        form.about.data = about
        form.key.data = fresh_key(None)
        return _render_details(form)
    if form.about.data not in ABOUT:
        return redirect(url_for(".about"), 303)
    form.key.data = fresh_key(form.key.data)
    if form.website.data:
        # The honeypot: hidden from people, filled by bots. Nothing is stored; a person who got
        # here somehow is told to use email or phone.
        log.info("honeypot filled from %s; submission dropped", request.remote_addr)
        return render_template("error.html", title_key="pages.refused_title", body_key="pages.refused_body", values={}), 400
    if not form.validate():
        return _render_details(form)
    return _send(form)


def _send(form: Any) -> Page:
    state = _state()
    answers = form.answers()
    uploads = form.uploads()
    digest = answers_digest(answers, uploads)
    sent = session.get("sent")
    if isinstance(sent, dict) and sent.get("digest") == digest:
        return redirect(url_for(".confirmation"), 303)  # the same answers again: one case
    now = datetime.now(UTC)
    raw = build_message(
        answers,
        uploads,
        to_addr=str(state.config.organisation.get("email") or state.config.from_address),
        id_domain=state.config.from_address.rpartition("@")[2] or "frontdesk.invalid",
        received=now,
    )
    key = f"form-{form.key.data}-{digest[:24]}"
    try:
        facts = state.submit(state.services, raw, key)
    except Exception:  # noqa: BLE001 - the person keeps their answers and is told plainly
        log.exception("form submission could not be stored (key %s)", key)
        notice = state.catalogue.text("details.store_failed")
        return _render_details(form, notice=notice, status=503)
    session["sent"] = {
        "digest": digest,
        "reference": facts.reference,
        "handler_name": facts.handler_name,
        "handler_role": facts.handler_role,
        "queue": facts.queue,
        "reply_by": facts.reply_by.isoformat() if facts.reply_by else "",
        "about": answers["about"],
        "reply": answers["reply"],
        "email": answers["email"],
        "acknowledge": bool(facts.acknowledge),
    }
    log.info("form submission stored as case %s", facts.reference)
    return redirect(url_for(".confirmation"), 303)


def reshow_after_csrf(error: CSRFError) -> tuple[str, int]:
    """A token that expired while someone typed: show their answers again with a clear message."""
    log.info("CSRF token refused on the details form (%s); answers re-shown", error.description)
    form = _details_form_class()(meta={"csrf": True})
    form.key.data = fresh_key(form.key.data)
    cat = _state().catalogue
    notice = cat.text("details.timed_out")
    if any(f.filename for f in request.files.getlist("files")):
        notice += ". " + cat.text("details.files_again")
    if form.about.data not in ABOUT:
        form.about.data = "complaint"
    return _render_details(form, notice=notice, status=400)


def reshow_about_after_csrf(error: CSRFError) -> tuple[str, int]:
    form = AboutForm(meta={"csrf": True})
    return render_template("about.html", form=form, errors=[], notice=_state().catalogue.text("details.timed_out")), 400


@bp.get("/confirmation")
def confirmation() -> Page:
    sent = session.get("sent")
    if not isinstance(sent, dict) or not sent.get("reference"):
        return render_template("missing.html")
    team = _state().config.teams.get(sent.get("queue", ""))
    reply_by = datetime.fromisoformat(sent["reply_by"]) if sent.get("reply_by") else None
    return render_template("confirmation.html", sent=sent, team=team, reply_by=reply_by)


@bp.get("/privacy")
def privacy() -> str:
    return render_template("privacy.html")


def register_csrf_views(app: Any) -> None:
    app.extensions["frontdesk.csrf_reshow"] = {
        "public.details": reshow_after_csrf,
        "public.about": reshow_about_after_csrf,
    }


__all__ = ["bp", "register_csrf_views", "Response"]
