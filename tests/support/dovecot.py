"""A throwaway Dovecot (Debian dovecot-imapd 2.3) on 127.0.0.1 and a free port, for tests and benchmarks.

Why a real server: IDLE, UID MOVE, UIDVALIDITY and a dropped connection behave in ways a fake would
only guess at. The config follows ../shared/FACTS.md: everything under a temp dir readable by the
`dovecot` user, passwd-file users with PLAIN passwords, maildir homes owned by `dovecot`.
Only processes this module started are signalled, by pid (the master and its children).
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from imapclient import IMAPClient

from gateway.mail.imap_config import quiet

CONFIG = """\
protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
info_log_path = {root}/dovecot.log
ssl = {ssl}
{ssl_files}
disable_plaintext_auth = no
auth_mechanisms = plain login
default_login_user = dovenull
default_internal_user = dovecot
first_valid_uid = {uid}
mail_location = maildir:~/Maildir
mail_fsync = always
namespace inbox {{
  inbox = yes
  separator = /
}}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN {root}/passwd
}}
userdb {{
  driver = static
  args = uid=dovecot gid=dovecot home={root}/home/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {ssl_port}
  }}
}}
"""


def free_port() -> int:
    """A port nobody listens on now (bind to 0, read it, release it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Dovecot:
    """One Dovecot instance: start, stop, restart, kick, and helpers to append and inspect mail."""

    def __init__(self, users: dict[str, str], *, tls: bool = False) -> None:
        self.users = dict(users)
        self.tls = tls
        self.root = Path(tempfile.mkdtemp(prefix="frontdesk-dovecot-"))
        self.root.chmod(0o755)  # the dovecot user must traverse it
        self.port = free_port()
        self.ssl_port = free_port() if tls else 0
        self.conf = self.root / "dovecot.conf"
        self.cert = self.root / "cert.pem"
        self.master_pid: int | None = None
        self._write_files()

    def _write_files(self) -> None:
        pw = pwd.getpwnam("dovecot")
        for sub in ("run", "state", "home"):
            (self.root / sub).mkdir(exist_ok=True)
        for user in self.users:
            home = self.root / "home" / user
            home.mkdir(exist_ok=True)
            os.chown(home, pw.pw_uid, pw.pw_gid)
        (self.root / "passwd").write_text("".join(f"{u}:{p}\n" for u, p in self.users.items()))
        ssl_files = ""
        if self.tls:
            key = self.root / "key.pem"
            subprocess.run(
                ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=localhost",
                 "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout", str(key), "-out", str(self.cert)],
                check=True, capture_output=True,
            )
            key.chmod(0o644)
            ssl_files = f"ssl_cert = <{self.cert}\nssl_key = <{key}"
        self.conf.write_text(CONFIG.format(
            root=self.root, uid=pw.pw_uid, port=self.port, ssl="yes" if self.tls else "no",
            ssl_files=ssl_files, ssl_port=self.ssl_port,
        ))

    def start(self, timeout: float = 15.0) -> None:
        """Start the daemon and wait until it answers; stdio detached so it holds no pipe of ours."""
        with open(os.devnull, "rb") as null_in, open(os.devnull, "wb") as null_out:
            subprocess.run(["dovecot", "-c", str(self.conf)], stdin=null_in, stdout=null_out, stderr=null_out,
                           check=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                    if sock.recv(100).startswith(b"* OK"):
                        self.master_pid = int((self.root / "run" / "master.pid").read_text().split()[0])
                        return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"dovecot did not start; see {self.root / 'dovecot.log'}")

    def _tree(self) -> list[int]:
        """The master and all its descendants (imap, imap-login, auth...), found through /proc."""
        if self.master_pid is None:
            return []
        children: dict[int, list[int]] = {}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                except (OSError, IndexError, ValueError):
                    continue
                children.setdefault(ppid, []).append(int(entry.name))
        found, todo = [], [self.master_pid]
        while todo:
            pid = todo.pop()
            found.append(pid)
            todo.extend(children.get(pid, []))
        return found

    def stop(self, timeout: float = 10.0, *, hard: bool = False) -> None:
        """Stop the master and every session process (a plain `stop` leaves IMAP sessions alive).

        `hard` kills with SIGKILL: sessions then close their sockets without a BYE, as in a crash.
        """
        pids = self._tree()
        for sig in (signal.SIGKILL,) if hard else (signal.SIGTERM, signal.SIGKILL):
            for pid in pids:
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    pass
            deadline = time.monotonic() + timeout / 2
            while time.monotonic() < deadline and any(Path(f"/proc/{p}").exists() and not _zombie(p) for p in pids):
                time.sleep(0.05)
        self.master_pid = None

    def restart(self, down_seconds: float = 0.0) -> None:
        self.stop()
        time.sleep(down_seconds)
        self.start()

    def kick(self, user: str) -> None:
        """Ask Dovecot to close the user's sessions (the server sends BYE)."""
        subprocess.run(["doveadm", "-c", str(self.conf), "kick", user], check=True, capture_output=True)

    def reset_uidvalidity(self, user: str) -> None:
        """Delete the index files while stopped: Dovecot then gives the folders a new UIDVALIDITY."""
        self.stop()
        time.sleep(1.1)  # UIDVALIDITY is a timestamp: make sure the new one differs
        for path in (self.root / "home" / user / "Maildir").rglob("dovecot*"):
            path.unlink()
        self.start()

    @contextmanager
    def client(self, user: str) -> Iterator[IMAPClient]:
        with IMAPClient("127.0.0.1", self.port, ssl=False, timeout=30) as imap:
            quiet(imap)  # the test's own appends would otherwise log bodies at DEBUG
            imap.login(user, self.users[user])
            yield imap

    def append(self, user: str, raw: bytes, folder: str = "INBOX") -> None:
        with self.client(user) as imap:
            imap.append(folder, raw)

    def uids(self, user: str, folder: str) -> list[int]:
        """UIDs in a folder (empty when the folder does not exist)."""
        with self.client(user) as imap:
            if not imap.folder_exists(folder):
                return []
            imap.select_folder(folder, readonly=True)
            return list(imap.search("ALL"))

    def close(self) -> None:
        """Stop and remove everything (always call it, from a finally or a fixture)."""
        try:
            self.stop()
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def message(n: int, *, message_id: bool = True, size: int = 0) -> bytes:
    """A small plain-text message; `size` pads the body for benchmarks."""
    head = f"From: Person {n} <person{n}@example.com>\r\nTo: complaints@example.org\r\nSubject: test {n}\r\n"
    if message_id:
        head += f"Message-ID: <m{n}.{time.time_ns()}@example.com>\r\n"
    body = f"Message number {n}.\r\n" + ("x" * 76 + "\r\n") * (size // 78)
    return (head + "\r\n" + body).encode()
