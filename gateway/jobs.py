"""The work queues on RQ: intake, and one queue per team. Redis carries work; the store is the truth.

Job ids are deterministic (`intake-<raw id>`, `route-<routing id>`), and every job is idempotent, so
the sweeper may enqueue the same work again whenever Redis lost it. Queue order is priority, so a
restricted queue (safeguarding) gets a worker of its own.

Job functions run inside a worker process (or thread, under `frontdesk run`) that was handed its
Services by `bind`; RQ can only pass plain arguments to a job, so the worker's services are held
here for the job functions of that process.
"""

from __future__ import annotations

import logging
import traceback
from datetime import UTC, datetime

from rq import Queue, SimpleWorker
from rq.job import Job
from rq.timeouts import TimerDeathPenalty
from sqlalchemy import update

from gateway.mail.outbound import SendError
from gateway.services import Services

log = logging.getLogger("frontdesk.jobs")

INTAKE = "intake"
JOB_TIMEOUT = 120
_bound: list[Services] = []


def bind(services: Services) -> None:
    """Give this process's job functions their services (one set per worker process)."""
    _bound[:] = [services]


def current() -> Services:
    if not _bound:
        raise RuntimeError("no services bound: jobs run only inside `frontdesk worker` or `frontdesk run`")
    return _bound[0]


def queue(services: Services, name: str) -> Queue:
    return Queue(name, connection=services.redis, default_timeout=JOB_TIMEOUT)


def enqueue_intake(services: Services, raw_id: int) -> None:
    queue(services, INTAKE).enqueue_call(
        "gateway.jobs.intake_job", args=(raw_id,), job_id=f"intake-{raw_id}", result_ttl=0, failure_ttl=86400
    )
    _mark_enqueued(services, [raw_id])


def enqueue_intake_many(services: Services, raw_ids: list[int]) -> None:
    """Enqueue a batch in one Redis round trip (the SMTP listener's group commit, which records enqueued_at)."""
    q = queue(services, INTAKE)
    q.enqueue_many(
        [
            Queue.prepare_data(
                "gateway.jobs.intake_job", args=(raw_id,), job_id=f"intake-{raw_id}", result_ttl=0, failure_ttl=86400
            )
            for raw_id in raw_ids
        ]
    )


def _mark_enqueued(services: Services, raw_ids: list[int]) -> None:
    from gateway.store import RawMessage

    with services.store.session() as session, session.begin():
        session.execute(update(RawMessage).where(RawMessage.id.in_(raw_ids)).values(enqueued_at=datetime.now(UTC)))


def enqueue_routing(services: Services, queue_name: str, routing_id: int) -> None:
    queue(services, queue_name).enqueue_call(
        "gateway.jobs.routing_job", args=(routing_id,), job_id=f"route-{routing_id}", result_ttl=0, failure_ttl=86400
    )


def intake_job(raw_id: int) -> None:
    from gateway import pipeline

    services = current()
    try:
        pipeline.process(services, raw_id)
    except SendError:  # the relay is down: not the message's fault, the sweeper tries again
        raise
    except Exception:
        error = traceback.format_exc()
        from gateway.store import RawMessage

        with services.store.session() as session:
            raw = session.get(RawMessage, raw_id)
            attempts = raw.attempts if raw else 0
        if attempts >= 3:  # a message that fails three times goes to people, not round again
            pipeline.shunt(services, raw_id, error)
            return
        raise


def routing_job(routing_id: int) -> None:
    from gateway import routing

    routing.deliver_to_team(current(), routing_id)


class Worker(SimpleWorker):
    """Runs jobs in this process (no fork per job) and works from a thread under `frontdesk run`."""

    death_penalty_class = TimerDeathPenalty

    def __init__(self, *args: object, in_thread: bool = False, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._in_thread = in_thread

    def _install_signal_handlers(self) -> None:
        if not self._in_thread:
            super()._install_signal_handlers()


def make_worker(services: Services, names: list[str], *, in_thread: bool = False) -> Worker:
    queues = [queue(services, name) for name in names]
    return Worker(queues, connection=services.redis, in_thread=in_thread, worker_ttl=60, job_monitoring_interval=10)


def job_status(services: Services, job_id: str) -> str | None:
    try:
        status = Job.fetch(job_id, connection=services.redis).get_status()
    except Exception:
        return None
    return status.value if status is not None else None
