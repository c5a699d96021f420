"""Safety that applies to every page: headers, a per-address rate limit, and friendly error pages.

The rate limit is a fixed-window counter in Redis (INCR + EXPIRE on one key per address and
window), written here rather than taken from flask-limiter because it is 30 lines, shares the
gateway's Redis client, and counts across gunicorn workers. When Redis does not answer, a counter
in this process takes over: the form keeps working, a little less strictly, and the failure is
logged. Error pages never show a stack trace; a CSRF failure on a form re-shows that form with
every answer kept (the view registers how) instead of a bare 400.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from flask import Flask, Response, current_app, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, TooManyRequests

from forms.uploads import size_text

log = logging.getLogger("frontdesk.web")

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
}
PAGES = {
    400: ("pages.bad_request_title", "pages.bad_request_body"),
    404: ("pages.not_found_title", "pages.not_found_body"),
    405: ("pages.not_found_title", "pages.not_found_body"),
    413: ("pages.too_large_title", "pages.too_large_body"),
    429: ("pages.too_many_title", "pages.too_many_body"),
}
CsrfReshow = Callable[[CSRFError], Response | tuple[Response, int]]


def security_headers(response: Response) -> Response:
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    if not request.path.startswith("/static/"):
        # Answers and references must not be kept in shared caches or shown again after
        # "Exit this page" by the back button.
        response.headers["Cache-Control"] = "no-store"
    return response


class RateLimiter:
    """At most `limit` POSTs per client address per `window` seconds."""

    def __init__(self, limit: int, window: int, prefix: str) -> None:
        self.limit = limit
        self.window = window
        self.prefix = prefix
        self._local: dict[str, int] = {}
        self._lock = threading.Lock()

    def hit(self, address: str, redis_client: object | None) -> int:
        """Count one request; return how many this address made in the current window."""
        bucket = int(time.time()) // self.window
        key = f"{self.prefix}:{address}:{bucket}"
        if redis_client is not None:
            try:
                pipe = redis_client.pipeline()  # type: ignore[attr-defined]
                pipe.incr(key)
                pipe.expire(key, self.window + 5)
                count, _ = pipe.execute()
                return int(count)
            except Exception as exc:  # noqa: BLE001 - any Redis failure falls back, logged
                log.warning("rate limit: Redis failed (%s); counting in this process", exc)
        with self._lock:
            self._local = {k: v for k, v in self._local.items() if k.endswith(f":{bucket}")}
            self._local[key] = self._local.get(key, 0) + 1
            return self._local[key]


def render_error(status: int, **values: object) -> tuple[str, int]:
    title_key, body_key = PAGES.get(status, ("pages.error_title", "pages.error_body"))
    try:
        return render_template("error.html", title_key=title_key, body_key=body_key, values=values), status
    except Exception:  # noqa: BLE001 - the error page itself must never fail
        log.exception("error page failed to render")
        return "Sorry, there is a problem with the service. Try again later.", status


def init_security(app: Flask, limiter: RateLimiter) -> None:
    """Install headers, the rate limit (before CSRF, so floods are cheap) and error pages."""
    app.after_request(security_headers)

    @app.before_request
    def rate_limit() -> None:
        if request.method != "POST":
            return
        state = current_app.extensions["frontdesk"]
        try:
            client = state.services.redis
        except Exception:  # noqa: BLE001 - no services: still limit, in memory
            client = None
        if limiter.hit(request.remote_addr or "unknown", client) > limiter.limit:
            raise TooManyRequests()

    @app.errorhandler(CSRFError)  # type: ignore[type-var]
    def csrf_failed(error: CSRFError) -> Response | tuple[object, int]:
        reshow: dict[str, CsrfReshow] = current_app.extensions.get("frontdesk.csrf_reshow", {})
        view = reshow.get(request.endpoint or "")
        if view is not None:
            return view(error)
        log.info("CSRF refused on %s: %s", request.path, error.description)
        return render_error(400)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> tuple[str, int] | HTTPException:
        status = error.code or 500
        if status < 400:
            return error
        values: dict[str, object] = {}
        if status == 413:
            values["size"] = size_text(app.config["MAX_CONTENT_LENGTH"])
        if status == 429:
            values["minutes"] = max(1, limiter.window // 60)
        body, code = render_error(status, **values)
        response = app.make_response((body, code))
        if status == 429:
            response.headers["Retry-After"] = str(limiter.window)
        return response  # type: ignore[return-value]

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> tuple[str, int]:
        log.exception("unexpected error on %s %s", request.method, request.path)
        return render_error(500)
