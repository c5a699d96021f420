"""All configuration in one place: frontdesk.toml, then environment overrides, then defaults that run.

The shipped defaults describe an example organisation in England with five shared mailboxes, so
`frontdesk run` works on a fresh machine with no file at all. Queues, handlers and routing are data
in queue/ (admin-edited TOML); everything else is read here and passed down as plain dataclasses.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gateway.resources import data_path

CHANNELS = ("email", "webform", "post", "voicemail", "social")

DEFAULT_MAILBOXES = (
    {"address": "enquiries@example.org", "channel": "email", "queue": "enquiries"},
    {"address": "complaints@example.org", "channel": "email", "queue": "complaints"},
    {"address": "post@example.org", "channel": "post", "queue": "enquiries"},
    {"address": "voicemail@example.org", "channel": "voicemail", "queue": "enquiries"},
    {"address": "social@example.org", "channel": "social", "queue": "enquiries"},
)

DEFAULT_ORGANISATION: dict[str, Any] = {
    "name": "Example Association",
    "email": "enquiries@example.org",
    "phone": "020 7946 0000",
    "address": "1 Example Street, London, SW1A 1AA",
    "website": "https://www.example.org",
    "closures": ["2026-12-24..2027-01-01"],
}


class ConfigError(ValueError):
    """A configuration value that cannot work, with a message that says which and why."""


@dataclass(frozen=True)
class Mailbox:
    address: str
    channel: str
    queue: str = "enquiries"


@dataclass(frozen=True)
class Handler:
    name: str
    role: str
    email: str = ""


@dataclass(frozen=True)
class Team:
    """A queue: who works it, where its routed work is mailed, and who may see it."""

    name: str
    label: str
    address: str
    lead: Handler
    handlers: tuple[Handler, ...]
    restricted: bool = False
    acknowledge: bool = True


@dataclass(frozen=True)
class Config:
    data_dir: Path
    database_url: str
    redis_url: str
    relay: str
    smtp_host: str
    smtp_port: int
    web_host: str
    web_port: int
    max_message_bytes: int
    max_recipients: int
    from_address: str
    secret_key: str
    organisation: Mapping[str, Any]
    policy: Mapping[str, Any]
    mailboxes: tuple[Mailbox, ...]
    teams: Mapping[str, Team]
    routes: Mapping[str, str]
    queue_dir: Path
    templates_dir: Path
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def outbox_dir(self) -> Path:
        return self.data_dir / "outbox"

    def mailbox(self, address: str) -> Mailbox | None:
        address = address.lower()
        return next((m for m in self.mailboxes if m.address == address), None)

    def own_addresses(self) -> set[str]:
        """Addresses that are ours: mail from them is never acknowledged (no loops)."""
        own = {m.address for m in self.mailboxes} | {t.address.lower() for t in self.teams.values()}
        return own | {self.from_address.lower()}

    def queue_for(self, topic: str) -> str:
        return self.routes.get(topic, self.routes.get("default", "enquiries"))


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}") from exc


def _handler(raw: Mapping[str, Any], where: str) -> Handler:
    try:
        return Handler(name=str(raw["name"]), role=str(raw.get("role", "")), email=str(raw.get("email", "")))
    except KeyError as exc:
        raise ConfigError(f"{where}: a handler needs a name") from exc


def load_teams(queue_dir: Path) -> tuple[dict[str, Team], dict[str, str]]:
    """Read queue/queues.toml (teams) and queue/routing.toml (topic -> queue)."""
    queues = _read_toml(queue_dir / "queues.toml").get("queues", {})
    teams: dict[str, Team] = {}
    for name, raw in queues.items():
        where = f"{queue_dir / 'queues.toml'} [queues.{name}]"
        handlers = tuple(_handler(h, where) for h in raw.get("handlers", []))
        if "address" not in raw:
            raise ConfigError(f"{where}: the queue needs an address for its routed work")
        lead = _handler(raw["lead"], where) if "lead" in raw else (handlers[0] if handlers else None)
        if lead is None:
            raise ConfigError(f"{where}: the queue has no handler and no lead")
        teams[name] = Team(
            name=name,
            label=str(raw.get("label", name.replace("-", " ").capitalize())),
            address=str(raw["address"]).lower(),
            lead=lead,
            handlers=handlers,
            restricted=bool(raw.get("restricted", False)),
            acknowledge=bool(raw.get("acknowledge", True)),
        )
    routes = {str(k): str(v) for k, v in _read_toml(queue_dir / "routing.toml").get("routes", {}).items()}
    for topic, queue in routes.items():
        if queue not in teams:
            raise ConfigError(f"routing.toml: topic {topic!r} goes to unknown queue {queue!r}")
    return teams, routes


def find_config_file(explicit: str | None) -> Path | None:
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise ConfigError(f"config file {path} does not exist")
        return path
    path = Path("frontdesk.toml")
    return path if path.is_file() else None


def load_config(path: str | None = None, env: Mapping[str, str] | None = None) -> Config:
    """Build the configuration: file values, then environment overrides, then defaults."""
    env = os.environ if env is None else env
    file = find_config_file(path)
    raw = _read_toml(file) if file else {}
    gw = raw.get("gateway", {})
    data_dir = Path(env.get("FRONTDESK_DATA_DIR") or gw.get("data_dir") or "./var").resolve()
    database_url = env.get("DATABASE_URL") or gw.get("database_url") or ""
    if not database_url:
        data_dir.mkdir(parents=True, exist_ok=True)
        database_url = f"sqlite:///{data_dir / 'frontdesk.db'}"
    organisation = {**DEFAULT_ORGANISATION, **raw.get("organisation", {})}
    mailboxes = tuple(
        Mailbox(address=str(m["address"]).lower(), channel=str(m.get("channel", "email")), queue=str(m.get("queue", "enquiries")))
        for m in raw.get("mailbox", DEFAULT_MAILBOXES)
    )
    for box in mailboxes:
        if box.channel not in CHANNELS:
            raise ConfigError(f"mailbox {box.address}: unknown channel {box.channel!r} (one of {', '.join(CHANNELS)})")
    queue_dir = Path(gw["queue_dir"]) if gw.get("queue_dir") else data_path("queue")
    templates_dir = Path(gw["templates_dir"]) if gw.get("templates_dir") else data_path("templates")
    teams, routes = load_teams(queue_dir)
    for box in mailboxes:
        if box.queue not in teams:
            raise ConfigError(f"mailbox {box.address}: unknown queue {box.queue!r}")
    secret = env.get("FRONTDESK_SECRET_KEY") or gw.get("secret_key") or _stable_secret(data_dir)
    return Config(
        data_dir=data_dir,
        database_url=database_url,
        redis_url=env.get("REDIS_URL") or gw.get("redis_url") or "redis://127.0.0.1:6379/0",
        relay=env.get("FRONTDESK_RELAY") or gw.get("relay") or "",
        smtp_host=env.get("FRONTDESK_SMTP_HOST") or gw.get("smtp_host") or "127.0.0.1",
        smtp_port=int(env.get("FRONTDESK_SMTP_PORT") or gw.get("smtp_port") or 8025),
        web_host=env.get("FRONTDESK_WEB_HOST") or gw.get("web_host") or "127.0.0.1",
        web_port=int(env.get("FRONTDESK_WEB_PORT") or gw.get("web_port") or 8000),
        max_message_bytes=int(gw.get("max_message_bytes", 25 * 1024 * 1024)),
        max_recipients=int(gw.get("max_recipients", 20)),
        from_address=str(gw.get("from_address", "frontdesk@example.org")).lower(),
        secret_key=secret,
        organisation=organisation,
        policy=raw.get("policy", {}),
        mailboxes=mailboxes,
        teams=teams,
        routes=routes,
        queue_dir=queue_dir,
        templates_dir=templates_dir,
        extra={k: v for k, v in raw.items() if k not in ("gateway", "organisation", "policy", "mailbox")},
    )


def _stable_secret(data_dir: Path) -> str:
    """A per-installation secret kept under the data directory, so sessions survive restarts."""
    path = data_dir / "secret_key"
    data_dir.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        path.write_text(os.urandom(32).hex())
        path.chmod(0o600)
    return path.read_text().strip()
