"""The Flask application: the public contact form (and, later, the staff and admin pages).

`create_app` is the only entry point (flaskr style): `gunicorn 'forms:create_app()'` in production,
`create_app(config, test_config={...})` in tests. Pages and static files live in templates/web/ so
they ship as data beside the acknowledgement templates; every word comes from the catalogue in
templates/web/text/.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask, current_app
from flask_wtf.csrf import CSRFProtect
from werkzeug.middleware.proxy_fix import ProxyFix

from forms.catalogue import load_catalogue
from forms.public import bp as public_bp
from forms.public import register_csrf_views
from forms.security import RateLimiter, init_security
from forms.state import FormSettings, WebState, default_services, default_submit
from forms.uploads import size_text
from forms.webform import DETAILS_MAX, details_form_class
from gateway.config import Config, load_config
from gateway.resources import data_path
from gateway.services import Services

LONDON = ZoneInfo("Europe/London")


def create_app(
    config: Config | None = None, test_config: dict[str, Any] | None = None, *, services: Services | None = None
) -> Flask:
    """Build the web app. `services` shares a running gateway's handles (`frontdesk run` passes its
    own, with an embedded Redis when none runs); `test_config` overrides Flask settings and may
    carry FRONTDESK_SERVICES or FRONTDESK_SUBMIT (the submit function) for tests."""
    config = config or load_config()
    test_config = dict(test_config or {})
    web_root = data_path("templates") / "web"
    settings = FormSettings.from_mapping({**config.extra.get("form", {}), **test_config.pop("FORM", {})})
    app = Flask(
        __name__,
        template_folder=str(web_root),
        static_folder=str(web_root / "static"),
        static_url_path="/static",
    )
    app.config.update(
        SECRET_KEY=config.secret_key,
        # Files up to the limit plus room for the text answers; bigger requests get a 413 page.
        MAX_CONTENT_LENGTH=settings.max_files * settings.max_file_bytes + 2 * 1024 * 1024,
        # Text fields may be long (and a hostile 1 MB one must reach the validator to get a field
        # error, not a 413), so allow 2 MB of non-file form data.
        MAX_FORM_MEMORY_SIZE=2 * 1024 * 1024,
        MAX_FORM_PARTS=200,
        WTF_CSRF_TIME_LIMIT=settings.csrf_time_limit,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.secure_cookies,
        SESSION_COOKIE_NAME="frontdesk_session",
        RATE_LIMIT_PREFIX="frontdesk:rate:form",
    )
    services = services or test_config.pop("FRONTDESK_SERVICES", None)
    submit = test_config.pop("FRONTDESK_SUBMIT", default_submit)
    app.config.update(test_config)
    if settings.trusted_proxies:
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]  # Flask's documented way to wrap the WSGI app
            app.wsgi_app, x_for=settings.trusted_proxies, x_proto=settings.trusted_proxies
        )

    catalogue = load_catalogue(web_root / "text", settings.language)
    state = WebState(
        config=config,
        catalogue=catalogue,
        settings=settings,
        services_factory=(lambda: services) if services is not None else default_services(config),
        submit=submit,
    )
    app.extensions["frontdesk"] = state
    app.extensions["frontdesk.details_form"] = details_form_class(
        settings.membership_pattern, settings.max_files, settings.max_file_bytes
    )
    limiter = RateLimiter(settings.rate_limit, settings.rate_window, app.config["RATE_LIMIT_PREFIX"])
    init_security(app, limiter)  # before CSRF: a flood is refused before any token work
    CSRFProtect(app)
    app.register_blueprint(public_bp)
    register_csrf_views(app)
    _template_helpers(app)
    return app


def _template_helpers(app: Flask) -> None:
    """`t()` for catalogue texts, the contact block, and dates in the catalogue's words."""

    @app.context_processor
    def helpers() -> dict[str, Any]:
        state = current_app.extensions["frontdesk"]
        return {
            "t": state.catalogue.text,
            "html_lang": state.catalogue.html_lang,
            "contact": state.contact(datetime.now(LONDON).date()),
            "org": state.config.organisation,
            "details_max": f"{DETAILS_MAX:,}",
            "file_size": size_text(state.settings.max_file_bytes),
        }

    @app.template_filter("long_date")
    def long_date(value: date | datetime) -> str:
        if isinstance(value, datetime):
            value = value.astimezone(LONDON).date()
        return current_app.extensions["frontdesk"].catalogue.long_date(value)
