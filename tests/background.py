"""Real background machinery for tests: an SMTP sink (aiosmtpd) and worker processes."""

from __future__ import annotations

import atexit
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

from tests.database import TestDatabase
from tests.waiting import CEILING, wait_until

ROOT = Path(__file__).resolve().parent.parent
TEST_MEDIA_ROOT = Path(tempfile.mkdtemp(prefix=f"cp-media-{os.getpid()}-"))
"""Local media storage of this test process (the app and its workers share it)."""
atexit.register(shutil.rmtree, TEST_MEDIA_ROOT, ignore_errors=True)
TOKEN_IN_LINK = re.compile(r"token=([A-Za-z0-9_\-]+)")


@dataclass
class SmtpSink:
    """Collects every message delivered to it, as parsed email messages."""

    messages: list[Message] = field(default_factory=list)
    port: int = 0

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
    sink = SmtpSink(port=free_port())
    controller = Controller(sink, hostname="127.0.0.1", port=sink.port)
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
            "MEDIA_ROOT": str(TEST_MEDIA_ROOT),
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

        try:
            wait_until(started, what="the worker's 'processing queue' line", seen=self.log)
        except AssertionError:
            self.stop()  # never left behind to run cron jobs against the next tests' tables
            raise
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
    """The API served by Granian (`app.main:app`) on a free port, as a real OS process."""

    def __init__(
        self, database: TestDatabase, *, env: dict[str, str] | None = None, granian_args: tuple[str, ...] = ()
    ) -> None:
        self.port = free_port()
        self.granian_args = granian_args
        self.env = {
            **os.environ,
            "APP_ENV": "test",
            "DATABASE_URL": database.owner_url.render_as_string(hide_password=False),
            "DATABASE_POOL_SIZE": "5",
            "PYTHONUNBUFFERED": "1",
            **(env or {}),
        }
        self.process: subprocess.Popen[str] | None = None
        self.log_path = Path(os.environ.get("TMPDIR", "/tmp")) / f"cp-api-{os.getpid()}-{self.port}.log"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/api/ws"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ApiProcess:
        return self.launch().wait_ready()

    def launch(self) -> ApiProcess:
        log = self.log_path.open("w")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "granian",
                "--interface",
                "asgi",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--workers",
                "1",
                *self.granian_args,
                "app.main:app",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )
        return self

    def wait_ready(self) -> ApiProcess:
        """Returns once `/health` answers: the lifespan (and its LISTEN connection) is up."""
        import httpx

        process = self.process
        assert process is not None

        def healthy() -> bool:
            if process.poll() is not None:
                raise AssertionError(f"the API exited early:\n{self.log()}")
            try:
                return httpx.get(f"{self.base_url}/health", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(healthy, what="the API's /health", interval=0.1, seen=self.log)
        return self

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)

    def log(self) -> str:
        return self.log_path.read_text() if self.log_path.exists() else ""
