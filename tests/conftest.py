"""Shared fixtures: a real store (SQLite and PostgreSQL), the real Redis, a real SMTP relay.

Every test that touches the store runs twice, once per database, because the gateway promises both.
Redis is the machine's own server at 127.0.0.1:6379 on a database of its own, flushed per test.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis as redis_lib

from gateway.config import Config, load_config
from gateway.services import Services, services_from_config
from tests.support.relay import Relay, start_relay

# a database of its own per test process (1-15; 0 is left to a gateway you may be running), so two
# test runs on one machine do not flush each other's queues
TEST_REDIS_URL = os.environ.get("FRONTDESK_TEST_REDIS_URL", f"redis://127.0.0.1:6379/{1 + os.getpid() % 15}")
TEST_PG_URL = os.environ.get("FRONTDESK_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def redis_client() -> Iterator[redis_lib.Redis]:
    client = redis_lib.Redis.from_url(TEST_REDIS_URL)
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


@pytest.fixture
def relay() -> Iterator[Relay]:
    server = start_relay(free_port())
    yield server
    server.stop()


def _postgres_url() -> Iterator[str]:
    from sqlalchemy import create_engine, text

    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(TEST_PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{TEST_PG_URL}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'frontdesk.db'}"
    else:
        yield from _postgres_url()


@pytest.fixture
def config_env(tmp_path: Path, database_url: str, relay: Relay) -> dict[str, str]:
    return {
        "FRONTDESK_DATA_DIR": str(tmp_path / "var"),
        "DATABASE_URL": database_url,
        "REDIS_URL": TEST_REDIS_URL,
        "FRONTDESK_RELAY": f"smtp://127.0.0.1:{relay.port}",
        "FRONTDESK_SMTP_PORT": str(free_port()),
        "FRONTDESK_WEB_PORT": str(free_port()),
        "FRONTDESK_SECRET_KEY": "test-secret",
    }


@pytest.fixture
def config(config_env: dict[str, str]) -> Config:
    return load_config(env=config_env)


@pytest.fixture
def services(config: Config, redis_client: redis_lib.Redis) -> Iterator[Services]:
    from gateway import jobs

    built = services_from_config(config, redis_client=redis_client)
    jobs.bind(built)
    yield built
    built.store.engine.dispose()
