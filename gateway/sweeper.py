"""The sweeper: whatever Redis lost, the store puts back.

Redis here keeps nothing on disk and RQ parks the job of a killed worker in its failed registry,
so every few seconds the sweeper looks in the store for work that should be done but is not:
messages still `new`, acknowledgements stuck `sending`, routed items still `pending`, and enqueues
them again under their deterministic job ids. Every job is idempotent, so a second copy is harmless.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from gateway import jobs, notices
from gateway.pipeline import stale_messages
from gateway.services import Services
from gateway.store import Acknowledgement, Routing

log = logging.getLogger("frontdesk.sweeper")

LIVE = {"queued", "started", "deferred", "scheduled"}


def sweep(services: Services, stale: timedelta) -> int:
    """One pass; returns how many items were enqueued again."""
    now = datetime.now(UTC)
    with services.store.session() as session, session.begin():
        session.execute(  # a worker died between claiming and sending: let it be sent again
            update(Acknowledgement)
            .where(Acknowledgement.state == "sending", Acknowledgement.claimed_at < now - stale)
            .values(state="pending")
        )
    again = 0
    for raw_id in stale_messages(services, stale):
        status = jobs.job_status(services, f"intake-{raw_id}")
        if status == "queued":
            continue
        if status == "started" and not _started_too_long(services, f"intake-{raw_id}", stale):
            continue
        jobs.enqueue_intake(services, raw_id)
        again += 1
    with services.store.session() as session:
        pending = session.execute(
            select(Routing.id, Routing.queue).where(Routing.state == "pending", Routing.created_at < now - stale).limit(500)
        ).all()
    for routing_id, queue_name in pending:
        if jobs.job_status(services, f"route-{routing_id}") not in LIVE:
            jobs.enqueue_routing(services, queue_name, routing_id)
            again += 1
    again += notices.send_pending(services, stale)
    if again:
        log.info("sweeper enqueued %d item(s) again", again)
    return again


def _started_too_long(services: Services, job_id: str, stale: timedelta) -> bool:
    from rq.job import Job

    try:
        job = Job.fetch(job_id, connection=services.redis)
    except Exception:
        return True
    started = job.started_at
    if started is None:
        return True
    if started.tzinfo is None:
        started = started.replace(tzinfo=UTC)
    return datetime.now(UTC) - started > stale


def run_sweeper(services: Services, stop: threading.Event, every: float = 5.0, stale: timedelta | None = None) -> None:
    stale = stale or timedelta(seconds=float(services.config.extra.get("sweeper", {}).get("stale_seconds", 60)))
    while not stop.wait(every):
        try:
            sweep(services, stale)
        except Exception as exc:  # a sweep that fails (Redis restarting) is simply tried again
            log.warning("sweep failed, will retry: %s", exc)
