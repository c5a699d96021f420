"""Drain the real RQ queues in-process (SimpleWorker, burst), as rq's own tests do."""

from __future__ import annotations

from gateway import jobs
from gateway.services import Services


def drain(services: Services, *names: str) -> None:
    """Run every job waiting on the named queues (default: intake, then every team queue)."""
    queues = list(names) or [jobs.INTAKE, *services.config.teams]
    for name in queues:
        jobs.make_worker(services, [name], in_thread=True).work(burst=True, with_scheduler=False, logging_level="WARNING")
