"""Issue 4.5: the SMTP edge under abuse: limits, STARTTLS, 4xx when the store fails, smuggling.

aiosmtpd 1.4.6 is pinned: 1.4.5 fixed SMTP smuggling (CVE-2024-27305: DATA now ends only at
CRLF.CRLF) and 1.4.6 discards plaintext pipelined after STARTTLS (CVE-2024-34083). The tests use
real clients: smtplib, raw sockets for idle and slow sessions, and swaks for exact DATA bytes.
"""

from __future__ import annotations

import dataclasses
import shutil
import smtplib
import socket
import ssl
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, func, select

from gateway.mail.smtp import IntakeController
from gateway.services import Services
from gateway.store import RawMessage, open_store
from tests.conftest import free_port
from tests.support.relay import Relay
from tests.support.work import drain

MAILBOX = "complaints@example.org"


def message(
    subject: str = "Complaint about my renewal", body: str = "I was charged twice.", mid: str = "<h@example.com>"
) -> bytes:
    return (
        f"From: Jo Bloggs <jo.bloggs@example.com>\r\nTo: {MAILBOX}\r\nSubject: {subject}\r\nMessage-ID: {mid}\r\n\r\n{body}\r\n"
    ).encode()


@pytest.fixture
def start(services: Services) -> Iterator[Callable[..., IntakeController]]:
    """Start the listener with `[smtp]` settings of the test's choosing."""
    started: list[IntakeController] = []

    def run(**smtp: Any) -> IntakeController:
        config = services.config
        services.config = dataclasses.replace(config, extra={**config.extra, "smtp": {**config.extra.get("smtp", {}), **smtp}})
        controller = IntakeController(services)
        controller.start()
        started.append(controller)
        return controller

    yield run
    for controller in started:
        controller.stop()


def stored(services: Services) -> list[RawMessage]:
    with services.store.session() as session:
        return list(session.scalars(select(RawMessage).order_by(RawMessage.id)))


def poll(check: Callable[[], Any], timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        try:
            result = check()
            if result:
                return result
        except (OSError, smtplib.SMTPException):
            pass
        if time.monotonic() > deadline:
            return check()
        time.sleep(0.05)


def send(controller: IntakeController, raw: bytes, rcpts: list[str] | None = None) -> dict[str, tuple[int, bytes]]:
    with smtplib.SMTP(controller.hostname, controller.port, timeout=30) as client:
        return client.sendmail("jo.bloggs@example.com", rcpts or [MAILBOX], raw)


# --- the store cannot commit: 451, and the message is not lost --------------------------------


def test_store_unavailable_gets_451_and_the_retry_is_stored(
    services: Services, start: Callable[..., IntakeController], tmp_path: Path
) -> None:
    controller = start()
    good = services.store
    if good.is_sqlite:
        broken = open_store(f"sqlite:///{tmp_path / 'no-such-dir' / 'x.db'}", migrate=False)
    else:
        broken = open_store(f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/test?connect_timeout=2", migrate=False)
    services.store = broken
    with pytest.raises(smtplib.SMTPDataError) as refused:
        send(controller, message())
    assert refused.value.smtp_code == 451
    services.store = good  # the store is back: the sender's retry is accepted and kept
    send(controller, message())
    assert [r.message_id for r in stored(services)] == ["<h@example.com>"]
    broken.engine.dispose()


def test_store_full_gets_451_never_250(services: Services, start: Callable[..., IntakeController], tmp_path: Path) -> None:
    controller = start()
    full = open_store(f"sqlite:///{tmp_path / 'full.db'}")
    pages = full.engine.connect().exec_driver_sql("PRAGMA page_count").scalar()
    full.engine.dispose()

    @event.listens_for(full.engine, "connect")
    def _cap(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute(f"PRAGMA max_page_count = {pages}")

    services.store, good = full, services.store
    with pytest.raises(smtplib.SMTPDataError) as refused:
        send(controller, message(body="\r\n".join(["x" * 70] * 3000)))
    assert refused.value.smtp_code == 451 and b"try again later" in refused.value.smtp_error
    with full.session() as session:
        assert session.scalar(select(func.count()).select_from(RawMessage)) == 0
    services.store = good
    full.engine.dispose()


# --- limits --------------------------------------------------------------------------------------


def banner(sock: socket.socket) -> bytes:
    sock.settimeout(20)
    data = b""
    while b"\r\n" not in data:
        chunk = sock.recv(1024)
        if not chunk:
            break
        data += chunk
    return data


def test_connection_cap_answers_421_and_frees_slots(services: Services, start: Callable[..., IntakeController]) -> None:
    controller = start(max_connections=3, session_timeout=30)
    idle = [socket.create_connection((controller.hostname, controller.port)) for _ in range(3)]
    try:
        assert all(banner(s).startswith(b"220") for s in idle)
        with socket.create_connection((controller.hostname, controller.port)) as extra:
            assert banner(extra).startswith(b"421")
        with pytest.raises(smtplib.SMTPConnectError):
            send(controller, message())
    finally:
        for s in idle:
            s.close()
    assert poll(lambda: send(controller, message()) == {}) is True
    assert len(stored(services)) == 1


def test_idle_sessions_time_out_and_a_real_sender_gets_through(
    services: Services, start: Callable[..., IntakeController]
) -> None:
    controller = start(max_connections=2, session_timeout=1)
    idle = [socket.create_connection((controller.hostname, controller.port)) for _ in range(2)]
    try:
        assert all(banner(s).startswith(b"220") for s in idle)
        # the server closes each idle session: recv sees end of file
        assert all(poll(lambda s=s: s.recv(1024) == b"") for s in idle)
        assert poll(lambda: send(controller, message()) == {}) is True
    finally:
        for s in idle:
            s.close()
    assert len(stored(services)) == 1


def test_a_session_kept_alive_with_noop_ends_at_max_session_time(
    services: Services, start: Callable[..., IntakeController]
) -> None:
    """aiosmtpd's timeout restarts at every command; the lifetime cap still ends the session."""
    controller = start(session_timeout=30, max_session_time=2)
    with smtplib.SMTP(controller.hostname, controller.port, timeout=10) as client:
        client.ehlo()
        started = time.monotonic()
        reply: tuple[int, bytes] = (250, b"")
        try:
            while reply[0] == 250 and time.monotonic() - started < 30:
                reply = client.noop()
                time.sleep(0.2)
        except smtplib.SMTPServerDisconnected:
            reply = (421, b"disconnected")
    assert reply[0] == 421
    assert 1.5 < time.monotonic() - started < 30


def test_recipient_limit_answers_452(services: Services, start: Callable[..., IntakeController]) -> None:
    services.config = dataclasses.replace(services.config, max_recipients=2)
    controller = start()
    refused = send(controller, message(), ["complaints@example.org", "enquiries@example.org", "post@example.org"])
    assert refused == {"post@example.org": (452, b"4.5.3 Too many recipients (at most 2 per message)")}
    assert len(stored(services)) == 1


def test_line_over_1000_bytes_is_refused(services: Services, start: Callable[..., IntakeController]) -> None:
    controller = start()
    with pytest.raises(smtplib.SMTPDataError) as refused:
        send(controller, message(body="x" * 5000))
    assert refused.value.smtp_code == 500
    assert stored(services) == []


def folded_subject(size: int) -> str:
    words = " ".join(f"word{i}" for i in range(size // 5))[:size]
    lines, line = [], ""
    for word in words.split(" "):
        if len(line) + len(word) > 70:
            lines.append(line)
            line = ""
        line += " " + word
    return "\r\n".join([*lines, line]).lstrip()


def test_one_megabyte_subject_is_stored_and_processed(
    services: Services, start: Callable[..., IntakeController], relay: Relay
) -> None:
    controller = start()
    send(controller, message(subject=folded_subject(1_000_000), body="Please refund my renewal."))
    [raw] = stored(services)
    assert raw.size > 1_000_000
    started = time.monotonic()
    drain(services)
    assert time.monotonic() - started < 60
    [raw] = stored(services)
    assert raw.state == "done" and raw.case_id is not None
    assert len(relay.to("jo.bloggs@example.com")) == 1


def test_header_block_over_the_limit_gets_552(services: Services, start: Callable[..., IntakeController]) -> None:
    controller = start()
    with pytest.raises(smtplib.SMTPDataError) as refused:
        send(controller, message(subject=folded_subject(3_000_000)))
    assert refused.value.smtp_code == 552 and b"header too large" in refused.value.smtp_error
    assert stored(services) == []


# --- STARTTLS ------------------------------------------------------------------------------------


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    openssl = shutil.which("openssl")
    assert openssl, "openssl is needed to make the test certificate (Debian: openssl)"
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return cert, key


def test_starttls_is_offered_with_a_certificate(
    services: Services, start: Callable[..., IntakeController], certificate: tuple[Path, Path]
) -> None:
    cert, key = certificate
    controller = start(tls_cert=str(cert), tls_key=str(key))
    context = ssl.create_default_context(cafile=str(cert))
    with smtplib.SMTP(controller.hostname, controller.port, timeout=30) as client:
        client.ehlo()
        assert client.has_extn("starttls")
        client.starttls(context=context)
        client.ehlo()
        assert client.sock is not None and client.sock.version() in ("TLSv1.2", "TLSv1.3")  # type: ignore[attr-defined]
        client.sendmail("jo.bloggs@example.com", [MAILBOX], message())
    assert len(stored(services)) == 1


def test_require_tls_refuses_plaintext_mail(
    services: Services, start: Callable[..., IntakeController], certificate: tuple[Path, Path]
) -> None:
    cert, key = certificate
    controller = start(tls_cert=str(cert), tls_key=str(key), require_tls=True)
    with smtplib.SMTP(controller.hostname, controller.port, timeout=30) as client:
        client.ehlo()
        code, _ = client.mail("jo.bloggs@example.com")
    assert code == 530
    assert stored(services) == []


def test_no_starttls_without_a_certificate(services: Services, start: Callable[..., IntakeController]) -> None:
    controller = start()
    with smtplib.SMTP(controller.hostname, controller.port, timeout=30) as client:
        client.ehlo()
        assert not client.has_extn("starttls")


# --- smuggling and bare line ends ----------------------------------------------------------------

SMUGGLED = b"MAIL FROM:<ceo@example.org>\r\nRCPT TO:<complaints@example.org>\r\nDATA\r\nFrom: ceo@example.org\r\n\r\nsmuggled\r\n"


@pytest.mark.parametrize("end", [b"\n.\n", b"\n.\r\n", b"\r.\r\n", b"\r\n.\r", b"\r\n.\n"], ids=repr)
def test_fake_end_of_data_smuggles_nothing_and_is_normalised_on_the_way_out(
    services: Services, start: Callable[..., IntakeController], relay: Relay, tmp_path: Path, end: bytes
) -> None:
    """swaks sends the bytes untouched (-ndf); one message is stored, and the team receives it with CRLF only."""
    controller = start()
    data = message(body="My complaint, line one\nline two with a bare LF") + b"before" + end + SMUGGLED + b"\r\n.\r\n"
    (tmp_path / "data.eml").write_bytes(data)
    done = subprocess.run(
        ["swaks", "--server", f"{controller.hostname}:{controller.port}", "--from", "jo.bloggs@example.com", "--to", MAILBOX,
         "--data", f"@{tmp_path / 'data.eml'}", "-ndf", "--timeout", "30"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:]
    [raw] = stored(services)  # one message: the fake end of data and the commands after it are content
    assert b"smuggled" in raw.raw and raw.envelope_from == "jo.bloggs@example.com"
    assert b"\n" in raw.raw.replace(b"\r\n", b"")  # the stored copy really holds a bare line end
    drain(services)
    teams = {team.address for team in services.config.teams.values()}
    [team_mail] = [r for r in relay.received if r.rcpt_tos[0] in teams]
    original = next(a for a in team_mail.message.iter_attachments() if a.get_filename().endswith("-original.eml"))
    sent_on = original.get_payload(decode=True)
    assert b"smuggled" in sent_on and b"line two with a bare LF" in sent_on
    assert b"\n" not in sent_on.replace(b"\r\n", b"") and b"\r" not in sent_on.replace(b"\r\n", b"")
    for received in relay.received:
        assert b"\n" not in received.data.replace(b"\r\n", b"")
