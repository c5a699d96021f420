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

from sqlalchemy import or_, select, update

from gateway import jobs, notices
from gateway.services import Services
from gateway.store import Acknowledgement, RawMessage, Routing

log = logging.getLogger("frontdesk.sweeper")

def sweep(services: Services, stale: timedelta, lost_after: timedelta | None = None) -> int:
    """One pass; returns how many items were enqueued again.

    `stale`: how old unfinished work must be before it is looked at. `lost_after`: how long a job
    may have been running, or an acknowledgement claimed, before its worker is taken for dead (by
    default longer than a job may run, so a slow job is never done twice alongside itself).
    """
    now = datetime.now(UTC)
    lost_after = max(stale, jobs.LOST_AFTER) if lost_after is None else lost_after
    with services.store.session() as session, session.begin():
        session.execute(  # a worker died while mailing a team: the item goes back to pending
            update(Routing).where(Routing.state == "sending", Routing.created_at < now - lost_after).values(state="pending")
        )
        session.execute(  # a worker died between claiming and sending: let it be sent again
            update(Acknowledgement)
            .where(Acknowledgement.state == "sending", Acknowledgement.claimed_at < now - lost_after)
            .values(state="pending")
        )
    again = 0
    covered = live_ranges(services, jobs.INTAKE, "intake", lost_after)
    lost = [raw_id for raw_id in stale_messages(services, stale) if not within(raw_id, covered)]
    for raw_id in lost:
        jobs.enqueue_intake(services, raw_id)
    again += len(lost)
    with services.store.session() as session:
        pending = session.execute(  # the intake job of a message still `new` hands its item over itself
            select(Routing.id, Routing.queue)
            .join(RawMessage, RawMessage.id == Routing.raw_message_id)
            .where(Routing.state == "pending", Routing.created_at < now - stale, RawMessage.state != "new")
            .limit(500)
        ).all()
    by_queue: dict[str, list[int]] = {}
    for routing_id, queue_name in pending:
        by_queue.setdefault(queue_name, []).append(routing_id)
    for queue_name, ids in by_queue.items():
        covered = live_ranges(services, queue_name, "route", lost_after)
        for routing_id in ids:
            if not within(routing_id, covered):
                jobs.enqueue_routing(services, queue_name, routing_id)
                again += 1
    again += notices.send_pending(services, lost_after)
    if again:
        log.info("sweeper enqueued %d item(s) again", again)
    return again


def stale_messages(services: Services, older_than: timedelta, limit: int = 500) -> list[int]:
    """Stored messages whose processing has not finished: the sweeper re-enqueues these."""
    cutoff = datetime.now(UTC) - older_than
    with services.store.session() as session:
        return list(
            session.scalars(
                select(RawMessage.id)
                .where(
                    RawMessage.state == "new",
                    or_(RawMessage.enqueued_at.is_(None), RawMessage.enqueued_at < cutoff),
                    RawMessage.received_at < cutoff,
                )
                .order_by(RawMessage.id)
                .limit(limit)
            )
        )


def within(item: int, ranges: list[tuple[int, int]]) -> bool:
    return any(first <= item <= last for first, last in ranges)


def live_ranges(services: Services, queue_name: str, prefix: str, lost_after: timedelta) -> list[tuple[int, int]]:
    """Id ranges of the jobs still waiting on a queue, or running and not for longer than `lost_after`.

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
        if started is not None and now - (started if started.tzinfo else started.replace(tzinfo=UTC)) <= lost_after:
            ranges.append(found)
    return ranges


def run_sweeper(services: Services, stop: threading.Event, every: float = 5.0, stale: timedelta | None = None) -> None:
    stale = stale or timedelta(seconds=float(services.config.extra.get("sweeper", {}).get("stale_seconds", 60)))
    while not stop.wait(every):
        try:
            sweep(services, stale)
        except Exception as exc:  # a sweep that fails (Redis restarting) is simply tried again
            log.warning("sweep failed, will retry: %s", exc)
