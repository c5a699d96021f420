"""Issue 2: Redis is transport only. A killed worker or an emptied Redis loses nothing and
sends exactly one acknowledgement, because the store is the truth and the sweeper re-enqueues."""

from __future__ import annotations

import os
import signal
import smtplib
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from rq import Queue
from sqlalchemy import select

from gateway.mail.smtp import IntakeController
from gateway.services import Services
from gateway.store import Acknowledgement, RawMessage
from gateway.sweeper import sweep
from tests.conftest import free_port
from tests.support.relay import Relay
from tests.support.work import drain
from tests.test_foundation import complaint

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def smtp(services: Services) -> Iterator[IntakeController]:
    controller = IntakeController(services)
    controller.start()
    yield controller
    controller.stop()


@pytest.fixture
def silent_relay() -> Iterator[int]:
    """A relay that accepts the TCP connection and never says a word: the sender hangs there."""
    port = free_port()
    sock = socket.socket()
    sock.bind(("127.0.0.1", port))
    sock.listen(16)
    yield port
    sock.close()


def start_worker(env: dict[str, str], relay_port: int) -> subprocess.Popen[bytes]:
    full = {**os.environ, **env, "FRONTDESK_RELAY": f"smtp://127.0.0.1:{relay_port}"}
    return subprocess.Popen(
        [sys.executable, "-m", "gateway.cli", "worker", "--no-supervise", "intake"], cwd=ROOT, env=full,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )


def wait_until(check, timeout: float = 20.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return False


def ack_state(services: Services) -> str | None:
    with services.store.session() as session:
        return session.scalar(select(Acknowledgement.state))


def test_worker_killed_before_acknowledging_sends_exactly_one_after_restart(
    services: Services, smtp: IntakeController, relay: Relay, silent_relay: int, config_env: dict[str, str]
) -> None:
    with smtplib.SMTP(smtp.hostname, smtp.port, timeout=10) as client:
        client.send_message(complaint())
    worker = start_worker(config_env, silent_relay)
    try:
        # the worker has opened the case and claimed the acknowledgement; it is stuck at the relay
        assert wait_until(lambda: ack_state(services) == "sending"), worker.stderr.read1() if worker.stderr else b""
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
    finally:
        if worker.poll() is None:
            worker.kill()
    assert relay.to("jo.bloggs@example.com") == []
    with services.store.session() as session:
        assert session.scalar(select(RawMessage.state)) == "new"
    restarted = start_worker(config_env, relay.port)
    try:
        # the sweeper finds the unfinished message and the claimed-but-unsent acknowledgement
        # within a job's time limit the sweeper leaves the killed worker's job and claim alone ...
        assert sweep(services, timedelta(0)) == 0
        # ... and once the worker is taken for dead, it puts them back
        assert sweep(services, timedelta(0), lost_after=timedelta(0)) >= 1
        assert len(relay.wait_for("jo.bloggs@example.com", timeout=20)) == 1
        assert wait_until(lambda: ack_state(services) == "sent")
        assert sweep(services, timedelta(0), lost_after=timedelta(0)) == 0  # nothing left to do, nothing sent again
        time.sleep(1.0)
    finally:
        restarted.terminate()
        restarted.wait(timeout=10)
    assert len(relay.to("jo.bloggs@example.com")) == 1
    with services.store.session() as session:
        assert session.scalar(select(RawMessage.state)) == "done"


def test_redis_emptied_before_the_job_ran_still_acknowledges_once(
    services: Services, smtp: IntakeController, relay: Relay
) -> None:
    with smtplib.SMTP(smtp.hostname, smtp.port, timeout=10) as client:
        client.send_message(complaint())
    assert wait_until(lambda: Queue("intake", connection=services.redis).count == 1)
    services.redis.flushdb()  # what a restart of a Redis with --save "" does to every queue
    assert Queue("intake", connection=services.redis).count == 0
    drain(services)
    assert relay.to("jo.bloggs@example.com") == []
    assert sweep(services, timedelta(0)) == 1
    drain(services)
    assert len(relay.wait_for("jo.bloggs@example.com")) == 1
    assert len(relay.wait_for("complaints-team@example.org")) == 1
    assert sweep(services, timedelta(0)) == 0


def test_relay_down_keeps_the_acknowledgement_pending_and_the_sweeper_sends_it_later(
    services: Services, smtp: IntakeController, relay: Relay
) -> None:
    from gateway import jobs

    with smtplib.SMTP(smtp.hostname, smtp.port, timeout=10) as client:
        client.send_message(complaint())
    good = services.config
    down = type(good)(**{**good.__dict__, "relay": f"smtp://127.0.0.1:{free_port()}"})
    services.config = down
    drain(services, "intake")
    assert ack_state(services) == "pending"
    with services.store.session() as session:
        assert session.scalar(select(RawMessage.state)) == "new"
    services.config = good
    jobs.bind(services)
    assert sweep(services, timedelta(0)) >= 1
    drain(services)
    assert len(relay.wait_for("jo.bloggs@example.com")) == 1
