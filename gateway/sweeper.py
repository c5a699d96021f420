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
    covered = live_ranges(services, jobs.INTAKE, "intake", stale)
    lost = [raw_id for raw_id in stale_messages(services, stale) if not any(a <= raw_id <= b for a, b in covered)]
    for raw_id in lost:
        jobs.enqueue_intake(services, raw_id)
    again += len(lost)
    with services.store.session() as session:
        pending = session.execute(
            select(Routing.id, Routing.queue).where(Routing.state == "pending", Routing.created_at < now - stale).limit(500)
        ).all()
    by_queue: dict[str, list[int]] = {}
    for routing_id, queue_name in pending:
        by_queue.setdefault(queue_name, []).append(routing_id)
    for queue_name, ids in by_queue.items():
        covered = live_ranges(services, queue_name, "route", stale)
        for routing_id in ids:
            if not any(a <= routing_id <= b for a, b in covered):
                jobs.enqueue_routing(services, queue_name, routing_id)
                again += 1
    again += notices.send_pending(services, stale)
    if again:
        log.info("sweeper enqueued %d item(s) again", again)
    return again


def live_ranges(services: Services, queue_name: str, prefix: str, stale: timedelta) -> list[tuple[int, int]]:
    """Id ranges of the jobs still waiting on a queue, or running and not for longer than `stale`.

    A job started longer ago than that belonged, most likely, to a worker that was killed: RQ would
    park it in its failed registry only after its heartbeat expires, so its ids count as lost.
    """
    from rq.job import Job
    from rq.registry import StartedJobRegistry

    q = jobs.queue(services, queue_name)
    ranges = [r for r in (jobs.id_range(j, prefix) for j in q.job_ids) if r is not None]
    now = datetime.now(UTC)
    for job_id in StartedJobRegistry(queue=q).get_job_ids():
        found = jobs.id_range(job_id, prefix)
        if found is None:
            continue
        try:
            started = Job.fetch(job_id, connection=services.redis).started_at
        except Exception:
            continue
        if started is not None and now - (started if started.tzinfo else started.replace(tzinfo=UTC)) <= stale:
            ranges.append(found)
    return ranges


def run_sweeper(services: Services, stop: threading.Event, every: float = 5.0, stale: timedelta | None = None) -> None:
    stale = stale or timedelta(seconds=float(services.config.extra.get("sweeper", {}).get("stale_seconds", 60)))
    while not stop.wait(every):
        try:
            sweep(services, stale)
        except Exception as exc:  # a sweep that fails (Redis restarting) is simply tried again
            log.warning("sweep failed, will retry: %s", exc)
