"""What the web app holds per process: configuration, texts, settings and the gateway's services.

The services (store engine, Redis client) are opened lazily, on the first request that needs them:
gunicorn imports the app in its master and forks workers, and a database connection opened before
the fork would be shared by every worker. Tests may hand in ready-made services or a submit
function through `test_config`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from forms.catalogue import Catalogue
from forms.contact import ContactDetails, contact_details, week_from_table
from gateway.config import Config

SubmitFn = Callable[[Any, bytes, str], Any]
log = logging.getLogger("frontdesk.web")


@dataclass(frozen=True)
class FormSettings:
    """The `[form]` table of frontdesk.toml, with defaults that suit a small organisation."""

    language: str = "en"
    rate_limit: int = 20  # POSTs per client address per window
    rate_window: int = 600  # seconds
    membership_pattern: str = r"[A-Z]{0,2}[0-9]{5,10}"
    max_files: int = 3
    max_file_bytes: int = 5 * 1024 * 1024
    csrf_time_limit: int = 8 * 3600  # a long complaint typed slowly still sends
    secure_cookies: bool = False  # set true behind HTTPS
    trusted_proxies: int = 0  # X-Forwarded-For hops to trust for the client address

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any]) -> FormSettings:
        known = {name for name in cls.__dataclass_fields__}
        values = {k: v for k, v in raw.items() if k in known}
        return cls(**values)


@dataclass
class WebState:
    config: Config
    catalogue: Catalogue
    settings: FormSettings
    services_factory: Callable[[], Any]
    submit: SubmitFn
    _services: Any = None
    _contact: tuple[date, ContactDetails] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def services(self) -> Any:
        """The gateway's Services, opened on first use in this process."""
        if self._services is None:
            with self._lock:
                if self._services is None:
                    self._services = self.services_factory()
        return self._services

    def contact(self, today: date) -> ContactDetails:
        """The help block, worked out once a day: hours come from the working calendar the
        deadlines are counted on, so the page and the promised dates always agree."""
        cached = self._contact
        if cached is not None and cached[0] == today:
            return cached[1]
        try:
            week = self.services.policy[1].opening_hours
        except Exception:  # noqa: BLE001 - the page still shows what the configuration says
            log.warning("working calendar unavailable; showing configured opening hours", exc_info=True)
            week = week_from_table(self.config.organisation.get("opening_hours", {}))
        details = contact_details(self.config.organisation, week, self.catalogue, today)
        self._contact = (today, details)
        return details


def default_services(config: Config) -> Callable[[], Any]:
    def make() -> Any:
        from gateway.services import services_from_config

        return services_from_config(config)

    return make


def default_submit(services: Any, raw: bytes, key: str) -> Any:
    """The gateway's submit_form, imported late so the app starts even while the pipeline loads."""
    from gateway.pipeline import submit_form

    return submit_form(services, raw, key)
