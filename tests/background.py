"""Real background machinery for tests: an SMTP sink (aiosmtpd) and worker processes."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

from tests.database import TestDatabase
from tests.waiting import CEILING, wait_until

ROOT = Path(__file__).resolve().parent.parent
TOKEN_IN_LINK = re.compile(r"token=([A-Za-z0-9_\-]+)")


@dataclass
class SmtpSink:
    """Collects every message delivered to it, as parsed email messages."""

    messages: list[Message] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd's hook name)
        self.messages.append(message_from_bytes(envelope.content))
        return "250 Message accepted"

    def to(self, address: str) -> list[Message]:
        return [message for message in self.messages if message["To"] == address]

    def wait_for(self, address: str, *, count: int = 1) -> list[Message]:
        return wait_until(
            lambda: found if len(found := self.to(address)) >= count else None,
            what=f"{count} mail(s) for {address}",
            seen=lambda: f"{len(self.to(address))} for them, {len(self.messages)} in the sink",
        )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_smtp_sink() -> tuple[SmtpSink, Controller]:
    sink = SmtpSink()
    controller = Controller(sink, hostname="127.0.0.1", port=free_port())
    controller.start()
    return sink, controller


def text_part(message: Message) -> str:
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            return payload.decode()
    raise AssertionError("the message has no plain-text part")


def token_from(text: str) -> str:
    match = TOKEN_IN_LINK.search(text)
    assert match, f"no token link in: {text}"
    return match.group(1)


class WorkerProcess:
    """`python -m app.cli worker` against the test database, as a real OS process."""

    def __init__(
        self, database: TestDatabase, *, smtp_port: int | None = None, env: dict[str, str] | None = None
    ) -> None:
        self.env = {
            **os.environ,
            "APP_ENV": "test",
            "DATABASE_URL": database.owner_url.render_as_string(hide_password=False),
            "WORKER_SWEEP_SECONDS": "1",
            "WORKER_SHUTDOWN_GRACE_SECONDS": "1",
            "PYTHONUNBUFFERED": "1",
            **({"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(smtp_port)} if smtp_port else {}),
            **(env or {}),
        }
        self.process: subprocess.Popen[str] | None = None
        self.log_path = Path(os.environ.get("TMPDIR", "/tmp")) / f"cp-worker-{os.getpid()}-{id(self)}.log"

    def start(self) -> WorkerProcess:
        """Start the worker and return once it logs that it processes the queue."""
        log = self.log_path.open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "worker"],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )
        process = self.process

        def started() -> bool:
            if process.poll() is not None:
                raise AssertionError(f"worker exited early:\n{self.log()}")
            return "processing queue" in self.log()

        wait_until(started, what="the worker's 'processing queue' line", seen=self.log)
        return self

    def kill(self) -> None:
        """SIGKILL: no cleanup, no graceful shutdown (what a crashed machine does)."""
        assert self.process is not None
        self.process.kill()
        self.process.wait(timeout=CEILING)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=CEILING)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=CEILING)

    @staticmethod
    def stop_all(workers: list[WorkerProcess]) -> None:
        for worker in workers:
            if worker.process is not None and worker.process.poll() is None:
                worker.process.terminate()
        for worker in workers:
            worker.stop()

    def log(self) -> str:
        return self.log_path.read_text() if self.log_path.exists() else ""


class ApiProcess:
    """`python -m app.cli serve` (Granian) on a free port against a test database, as a real process."""

    def __init__(self, database: TestDatabase, *, env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.env = {
            **os.environ,
            "APP_ENV": "dev",
            "HOST": "127.0.0.1",
            "PORT": str(self.port),
            "DATABASE_URL": database.owner_url.render_as_string(hide_password=False),
            "ARGON2_TIME_COST": "1",
            "ARGON2_MEMORY_KIB": "8192",
            "PYTHONUNBUFFERED": "1",
            **(env or {}),
        }
        self.process: subprocess.Popen[str] | None = None
        self.log_path = Path(os.environ.get("TMPDIR", "/tmp")) / f"cp-api-{os.getpid()}-{id(self)}.log"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ApiProcess:
        """Start the server and return once `/health` answers 200 (it migrates the database first)."""
        import httpx

        log = self.log_path.open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "serve"],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )
        process = self.process

        def serving() -> bool:
            if process.poll() is not None:
                raise AssertionError(f"the API exited early:\n{self.log()}")
            return "serving on" in self.log()

        # Two events, each with its own ceiling: the database prepared, then the server answering.
        wait_until(serving, what="the API's 'serving on' line", seen=self.log, interval=0.2)

        def healthy() -> bool:
            if process.poll() is not None:
                raise AssertionError(f"the API exited early:\n{self.log()}")
            try:
                return httpx.get(f"{self.base_url}/health", timeout=5).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(healthy, what=f"GET {self.base_url}/health answering 200", seen=self.log, interval=0.2)
        return self

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=CEILING)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=CEILING)

    def log(self) -> str:
        return self.log_path.read_text() if self.log_path.exists() else ""
