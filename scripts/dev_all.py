"""`make dev-all`: migrate once, then run the API and a worker together.

Ctrl-C (or SIGTERM) stops both and exits 0; when one of them exits by itself (a crash, a busy
port), the other is stopped and its exit status is ours.

The terminal. A terminal's Ctrl-C signals its whole foreground process group, and `make` is in
it: GNU make then re-raises SIGINT on itself and exits 130, whatever its recipe returned. So when
stdin is a terminal, this script moves into a process group of its own and makes that group the
terminal's foreground (make's group stays behind and hears nothing); the API and the worker are
in the script's group and hear Ctrl-C directly. The terminal goes back to make's group before the
script exits, and make sees a recipe that exited 0.

Run with the project's interpreter (`uv run python scripts/dev_all.py`); the children use the same.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from types import FrameType

COMMAND = (sys.executable, "-m", "app.cli")
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
POLL_SECONDS = 0.2


@contextlib.contextmanager
def own_foreground_group() -> Iterator[None]:
    """Lead a process group that holds the terminal's foreground while the block runs (if any)."""
    terminal = 0  # stdin; not a terminal under CI, a process manager or a pipe
    # Only a foreground job may take the terminal (`make dev-all &` must not steal it from the shell).
    if _foreground_group(terminal) != os.getpgrp():
        yield
        return
    previous = os.getpgrp()
    try:
        os.setpgid(0, 0)
    except OSError:  # a session leader cannot move (started with setsid): it already leads a group
        yield
        return
    _hand_terminal_to(terminal, os.getpgrp())
    try:
        yield
    finally:
        _hand_terminal_to(terminal, previous)


def _foreground_group(terminal: int) -> int | None:
    """The terminal's foreground process group; None when `terminal` is not our controlling terminal."""
    try:
        return os.tcgetpgrp(terminal)
    except OSError:  # not a terminal, or not this session's
        return None


def _hand_terminal_to(terminal: int, group: int) -> None:
    # A background group that changes the foreground gets SIGTTOU (which stops it) unless ignored.
    ignored = signal.signal(signal.SIGTTOU, signal.SIG_IGN)
    try:
        os.tcsetpgrp(terminal, group)
    except OSError:
        pass  # that group is gone (make was killed): nothing to give back
    finally:
        signal.signal(signal.SIGTTOU, ignored)


class Stop:
    """Remembers a SIGINT/SIGTERM; the main loop does the stopping (not the handler)."""

    def __init__(self) -> None:
        self.signal: int | None = None
        for signum in STOP_SIGNALS:
            signal.signal(signum, self._heard)

    def _heard(self, signum: int, frame: FrameType | None) -> None:
        self.signal = signum


def stop_all(children: list[subprocess.Popen[bytes]]) -> None:
    """SIGTERM to those still running (they may have heard Ctrl-C already), then wait for all.

    No bound: a worker in the middle of a job gets its shutdown grace, and it ends by itself.
    """
    for child in children:
        if child.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                child.terminate()
    for child in children:
        child.wait()


def exit_status(returncode: int) -> int:
    """A child killed by signal N reads as -N; a shell would report 128 + N."""
    return 128 - returncode if returncode < 0 else returncode


def run_both(stop: Stop) -> int:
    migrated = subprocess.run([*COMMAND, "db-upgrade"], check=False)  # noqa: S603 (our own CLI)
    if stop.signal is not None:
        return 0
    if migrated.returncode != 0:
        return exit_status(migrated.returncode)
    children = [subprocess.Popen([*COMMAND, command]) for command in ("serve", "worker")]  # noqa: S603
    try:
        while stop.signal is None:
            if exited := [child for child in children if child.poll() is not None]:
                stop_all(children)
                return exit_status(exited[0].returncode)
            time.sleep(POLL_SECONDS)
        stop_all(children)
        return 0
    finally:
        stop_all(children)  # an exception here must not leave the API or the worker behind


def main() -> int:
    stop = Stop()
    with own_foreground_group():
        return run_both(stop)


if __name__ == "__main__":
    sys.exit(main())
