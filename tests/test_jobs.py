"""The job machinery itself: batches, id ranges the sweeper reads, shunting, the group committer."""

from __future__ import annotations

from concurrent.futures import Future

import pytest
from rq import Queue
from sqlalchemy import func, select

from gateway import jobs, pipeline
from gateway.intake import accept, new_raw_message
from gateway.mail.smtp import GroupCommitter
from gateway.services import Services
from gateway.store import Acknowledgement, RawMessage
from tests.support.relay import Relay
from tests.support.work import drain
from tests.test_foundation import complaint


def store(services: Services, n: int) -> list[int]:
    return [
        accept(services.store, complaint(sender=f"person{i}@example.com").as_bytes(), channel="email",
               mailbox="complaints@example.org", source="smtp").raw_id
        for i in range(n)
    ]


def test_job_ids_name_the_ids_they_carry() -> None:
    assert jobs.job_id("intake", [7]) == "intake-7" and jobs.id_range("intake-7", "intake") == (7, 7)
    assert jobs.job_id("intake", [9, 7, 8]) == "intake-7-9" and jobs.id_range("intake-7-9", "intake") == (7, 9)
    assert jobs.id_range("route-3", "intake") is None and jobs.id_range("intake-x", "intake") is None


def test_a_batch_is_one_job_and_each_message_gets_its_acknowledgement(services: Services, relay: Relay) -> None:
    ids = store(services, 3)
    jobs.enqueue_intake_many(services, ids)
    assert Queue("intake", connection=services.redis).job_ids == [f"intake-{ids[0]}-{ids[-1]}"]
    drain(services, "intake")
    assert len(Queue("complaints", connection=services.redis).job_ids) == 1  # one routing job for the batch
    drain(services)
    for i in range(3):
        assert len(relay.wait_for(f"person{i}@example.com")) == 1
    assert len(relay.wait_for("complaints-team@example.org", count=3)) == 3


def test_a_message_that_keeps_failing_is_shunted_not_lost(
    services: Services, relay: Relay, monkeypatch: pytest.MonkeyPatch
) -> None:
    good, bad = store(services, 2)

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("classifier bug")

    real = pipeline.classify
    monkeypatch.setattr(pipeline, "classify", lambda msg, **kw: broken() if "person1" in msg.from_addr else real(msg, **kw))
    for attempt in range(3):
        jobs.enqueue_intake_many(services, [good, bad])
        drain(services, "intake")
        with services.store.session() as session:
            state = session.scalar(select(RawMessage.state).where(RawMessage.id == bad))
        assert state == ("failed" if attempt == 2 else "new")
    with services.store.session() as session:
        shunted = session.get(RawMessage, bad)
        assert shunted is not None and "classifier bug" in shunted.error and shunted.raw  # kept, with the reason
        assert session.scalar(select(RawMessage.state).where(RawMessage.id == good)) == "done"
        assert session.scalar(select(func.count()).select_from(Acknowledgement)) == 1
    assert len(relay.wait_for("person0@example.com")) == 1 and relay.to("person1@example.com") == []


def test_the_committer_survives_a_sender_who_hung_up(services: Services) -> None:
    committer = GroupCommitter(services)
    try:
        first: Future[int] = committer.submit(new_raw_message(b"Subject: a\r\n\r\nx", channel="email",
                                                             mailbox="complaints@example.org", source="smtp"))
        first.cancel()  # what asyncio does to the wait when the SMTP client disconnects mid-DATA
        second = committer.submit(new_raw_message(b"Subject: b\r\n\r\ny", channel="email",
                                                  mailbox="complaints@example.org", source="smtp"))
        assert second.result(timeout=10) > 0
    finally:
        committer.close()
    with services.store.session() as session:
        assert session.scalar(select(func.count()).select_from(RawMessage)) == 2  # both stored all the same


def test_a_relay_that_refuses_for_good_flags_the_case_instead_of_retrying(services: Services, relay: Relay) -> None:
    relay.refuse.add("person0@example.com")
    (raw_id,) = store(services, 1)
    jobs.enqueue_intake(services, raw_id)
    drain(services)
    with services.store.session() as session:
        ack = session.scalars(select(Acknowledgement)).one()
        raw = session.get(RawMessage, raw_id)
        case = session.get(__import__("gateway.store", fromlist=["Case"]).Case, raw.case_id)
    assert ack.state == "failed" and "refused" in ack.error
    assert raw.state == "done" and "acknowledgement not delivered" in case.flags
    assert len(relay.wait_for("complaints-team@example.org")) == 1  # the team still gets the work
