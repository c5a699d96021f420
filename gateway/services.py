"""The handles every part needs (config, store, Redis), made once per process.

Redis is transport only. When none answers at REDIS_URL, `frontdesk run` uses an embedded
in-process one (fakeredis) so a fresh machine works with no service at all; the store still
holds every message, so nothing depends on what Redis keeps.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import redis

from gateway.config import Config
from gateway.store import Store, open_store

log = logging.getLogger("frontdesk")


@dataclass
class Services:
    config: Config
    store: Store
    redis: redis.Redis
    embedded_redis: bool = False
    cache: dict[str, Any] = field(default_factory=dict)

    @cached_property
    def rules(self) -> Any:
        from gateway.classify import load_rules

        return load_rules()

    @cached_property
    def policy(self) -> Any:
        """(Policy, WorkingCalendar) for this organisation, from config and the chosen preset."""
        from gateway.policy.presets import policy_from_config

        return policy_from_config({"organisation": dict(self.config.organisation), "policy": dict(self.config.policy)})


def connect_redis(url: str, *, allow_embedded: bool) -> tuple[redis.Redis, bool]:
    """Connect to Redis at `url`; fall back to an in-process one when allowed and none answers."""
    client = redis.Redis.from_url(url, socket_connect_timeout=2, health_check_interval=30)
    try:
        client.ping()
        return client, False
    except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError):
        if not allow_embedded:
            raise
    import fakeredis

    return fakeredis.FakeRedis(server=fakeredis.FakeServer()), True


def services_from_config(config: Config, *, allow_embedded: bool = False, redis_client: redis.Redis | None = None) -> Services:
    store = open_store(config.database_url)
    if redis_client is not None:
        return Services(config=config, store=store, redis=redis_client)
    client, embedded = connect_redis(config.redis_url, allow_embedded=allow_embedded)
    return Services(config=config, store=store, redis=client, embedded_redis=embedded)
