"""The work queues on RQ: intake, and one queue per team. Redis carries work; the store is the truth.

Job ids are deterministic and name the ids they carry (`intake-<raw id>`, or `intake-<first>-<last>`
for a batch from one SMTP group commit; `route-...` likewise), and every job is idempotent, so the
sweeper may enqueue the same work again whenever Redis lost it. A batch is one job for RQ (its own
overhead is several Redis round trips per job) but each message in it is processed and committed on
its own, so one bad message cannot hold back the rest. Queue order is priority, so a restricted
queue (safeguarding) gets a worker of its own.

Job functions run inside a worker process (or thread, under `frontdesk run`) that was handed its
Services by `bind`; RQ can only pass plain arguments to a job, so the worker's services are held
here for the job functions of that process.
"""

from __future__ import annotations

import logging
import traceback
from datetime import UTC, datetime, timedelta

from rq import Queue, SimpleWorker
from rq.timeouts import BaseTimeoutException, TimerDeathPenalty
from sqlalchemy import select, update

from gateway.mail.outbound import SendError
from gateway.services import Services

log = logging.getLogger("frontdesk.jobs")

INTAKE = "intake"
JOB_TIMEOUT = 120
# a job running longer than this belonged to a worker that died; anything shorter may still finish
LOST_AFTER = timedelta(seconds=2 * JOB_TIMEOUT)
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


def job_id(prefix: str, ids: list[int]) -> str:
    return f"{prefix}-{ids[0]}" if len(ids) == 1 else f"{prefix}-{min(ids)}-{max(ids)}"


def id_range(job: str, prefix: str) -> tuple[int, int] | None:
    """The ids a job id names (for the sweeper's "is this still queued?"), or None."""
    parts = job.removeprefix(prefix + "-").split("-")
    if not job.startswith(prefix + "-") or not all(p.isdigit() for p in parts) or len(parts) > 2:
        return None
    return int(parts[0]), int(parts[-1])


def enqueue_intake(services: Services, raw_id: int) -> None:
    enqueue_intake_many(services, [raw_id])
    _mark_enqueued(services, [raw_id])


def enqueue_intake_many(services: Services, raw_ids: list[int]) -> None:
    """One job for a batch (the SMTP listener's group commit, which records enqueued_at itself)."""
    queue(services, INTAKE).enqueue_call(
        "gateway.jobs.intake_job", args=(raw_ids,), job_id=job_id(INTAKE, raw_ids), result_ttl=0, failure_ttl=86400
    )


def _mark_enqueued(services: Services, raw_ids: list[int]) -> None:
    from gateway.store import RawMessage

    with services.store.session() as session, session.begin():
        session.execute(update(RawMessage).where(RawMessage.id.in_(raw_ids)).values(enqueued_at=datetime.now(UTC)))


def enqueue_routing(services: Services, queue_name: str, *routing_ids: int) -> None:
    ids = sorted(routing_ids)
    queue(services, queue_name).enqueue_call(
        "gateway.jobs.routing_job", args=(ids,), job_id=job_id("route", ids), result_ttl=0, failure_ttl=86400
    )


def intake_job(raw_ids: int | list[int]) -> None:
    """Process each message on its own; re-raise at the end if any failed, so RQ records the job."""
    from gateway import pipeline

    services = current()
    routed: dict[str, list[int]] = {}
    failed: Exception | None = None
    for raw_id in [raw_ids] if isinstance(raw_ids, int) else raw_ids:
        try:
            item = pipeline.process(services, raw_id, route=False)
        except BaseTimeoutException:  # the job's time is up: stop here, RQ records it, the sweeper resumes
            raise
        except SendError as exc:  # the relay is down: not the message's fault, the sweeper tries again
            failed = exc
            continue
        except Exception as exc:
            failed = exc
            _count_failure(services, raw_id, traceback.format_exc())
            continue
        if item is not None:
            routed.setdefault(item[0], []).append(item[1])
    for queue_name, ids in routed.items():
        enqueue_routing(services, queue_name, *ids)
    if failed is not None:
        raise failed


def _count_failure(services: Services, raw_id: int, error: str) -> None:
    """Count a real failure of this message; the third one shunts it to people (never dropped)."""
    from gateway import pipeline
    from gateway.store import RawMessage

    log.warning("message raw=%d failed: %s", raw_id, error.strip().splitlines()[-1])
    with services.store.session() as session, session.begin():
        session.execute(update(RawMessage).where(RawMessage.id == raw_id).values(attempts=RawMessage.attempts + 1))
        attempts = session.scalar(select(RawMessage.attempts).where(RawMessage.id == raw_id)) or 0
    if attempts >= 3:
        pipeline.shunt(services, raw_id, error)


def routing_job(routing_ids: int | list[int]) -> None:
    from gateway import routing

    for routing_id in [routing_ids] if isinstance(routing_ids, int) else routing_ids:
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
