"""Real background machinery for tests: an SMTP sink (aiosmtpd) and worker processes."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

from tests.database import TestDatabase

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

    def wait_for(self, address: str, *, count: int = 1, timeout: float = 15.0) -> list[Message]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.to(address)
            if len(found) >= count:
                return found
            time.sleep(0.05)
        raise AssertionError(f"no mail for {address} within {timeout}s (sink has {len(self.messages)})")


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

    def start(self, *, timeout: float = 120.0) -> WorkerProcess:  # generous: start-up is slow under load
        log = self.log_path.open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "worker"],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if "processing queue" in self.log_path.read_text():
                return self
            if self.process.poll() is not None:
                raise AssertionError(f"worker exited early:\n{self.log_path.read_text()}")
            time.sleep(0.05)
        raise AssertionError(f"worker did not start:\n{self.log_path.read_text()}")

    def kill(self) -> None:
        """SIGKILL: no cleanup, no graceful shutdown (what a crashed machine does)."""
        assert self.process is not None
        self.process.kill()
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)

    @staticmethod
    def stop_all(workers: list[WorkerProcess]) -> None:
        for worker in workers:
            if worker.process is not None and worker.process.poll() is None:
                worker.process.terminate()
        for worker in workers:
            worker.stop()

    def log(self) -> str:
        return self.log_path.read_text() if self.log_path.exists() else ""
