"""Start the parts: each alone (many machines) or all in one process (`frontdesk run`)."""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

from gateway import jobs
from gateway.config import Config
from gateway.services import Services, services_from_config
from gateway.supervisor import supervise_thread

log = logging.getLogger("frontdesk")


def _stop_event() -> threading.Event:
    from gateway.cli import wait_for_signal

    return wait_for_signal()


def start_smtp(services: Services, **kwargs: object):  # type: ignore[no-untyped-def]
    from gateway.mail.smtp import IntakeController

    controller = IntakeController(services, **kwargs)  # type: ignore[arg-type]
    controller.start()
    log.info("SMTP listening on %s:%d", controller.hostname, controller.port)
    return controller


def warm(services: Services) -> None:
    """Load the rules and the topic model (about 0.1 s) before the first message waits for them."""
    services.rules  # noqa: B018 (a cached property: reading it loads)


def start_workers(services: Services, stop: threading.Event) -> list[threading.Thread]:
    """One worker thread for intake and one per team queue: restricted queues never share a worker."""
    threading.Thread(target=warm, args=(services,), name="warm", daemon=True).start()
    threads = []
    for names in [[jobs.INTAKE], *[[name] for name in services.config.teams]]:

        def work(names: list[str] = names) -> None:
            worker = jobs.make_worker(services, names, in_thread=True)
            # RQ stops on signals, which only the main thread gets: ask it to stop after its current
            # job; a thread still blocked waiting for work simply ends with the process
            def stop_after_current_job() -> None:
                stop.wait()
                worker._stop_requested = True

            threading.Thread(target=stop_after_current_job, daemon=True).start()
            worker.work(with_scheduler=False, logging_level="WARNING")

        threads.append(supervise_thread(f"worker-{'+'.join(names)}", work, stop))
    return threads


def run_all(config: Config) -> int:
    from gateway.sweeper import run_sweeper

    stop = _stop_event()
    services = services_from_config(config, allow_embedded=True)
    jobs.bind(services)
    if services.embedded_redis:
        log.warning("no Redis at %s: using an embedded in-process one (fine for one machine)", config.redis_url)
    else:
        log.info("Redis at %s", config.redis_url)
    log.info("store: %s", services.store.engine.url.render_as_string(hide_password=True))
    log.info("outbound: %s", config.relay or f"no relay set, writing .eml files to {config.outbox_dir}")
    controller = start_smtp(services)
    start_workers(services, stop)
    threading.Thread(target=run_sweeper, args=(services, stop), name="sweeper", daemon=True).start()
    _start_imap(services, stop)
    web = _start_web_thread(services)
    log.info("web form at http://%s:%d/", config.web_host, config.web_port)
    stop.wait()
    log.info("stopping")
    web.close()
    controller.stop()
    return 0


def _start_imap(services: Services, stop: threading.Event) -> None:
    try:
        from gateway.mail import imap
    except ImportError:
        return
    boxes = imap.imap_mailboxes(services.config)
    if not boxes:
        return
    from gateway.mail.imap_cli import start_watchers

    start_watchers(services, boxes, stop)


def _start_web_thread(services: Services):  # type: ignore[no-untyped-def]
    from waitress.server import create_server

    from forms import create_app

    app = create_app(services.config, services=services)
    server = create_server(app, host=services.config.web_host, port=services.config.web_port, threads=8)
    threading.Thread(target=server.run, name="web", daemon=True).start()
    return server


def run_smtp(config: Config) -> int:
    stop = _stop_event()
    services = services_from_config(config)
    controller = start_smtp(services)
    stop.wait()
    controller.stop()
    return 0


def run_worker(config: Config, queues: list[str]) -> int:
    services = services_from_config(config)
    jobs.bind(services)
    worker = jobs.make_worker(services, queues)
    if jobs.INTAKE in queues:
        warm(services)
    log.info("worker for %s", ", ".join(queues))
    worker.work(with_scheduler=False, logging_level="WARNING")
    return 0


def run_sweep(config: Config, *, once: bool) -> int:
    from gateway.sweeper import run_sweeper, sweep

    services = services_from_config(config)
    stale = timedelta(seconds=float(config.extra.get("sweeper", {}).get("stale_seconds", 60)))
    if once:
        print(f"enqueued again: {sweep(services, stale)}")
        return 0
    run_sweeper(services, _stop_event(), stale=stale)
    return 0


def run_web(config: Config, *, workers: int) -> int:
    from gunicorn.app.base import BaseApplication

    class App(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            self.cfg.set("bind", f"{config.web_host}:{config.web_port}")
            self.cfg.set("workers", workers)
            self.cfg.set("accesslog", "-")

        def load(self):  # type: ignore[no-untyped-def]
            from forms import create_app

            return create_app(config)

    App().run()
    return 0
