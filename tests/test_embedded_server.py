"""The embedded PostgreSQL starts on a machine that never ran it, even when many processes start at once."""

from __future__ import annotations

import os
import pwd
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.waiting import CEILING, wait_until

ROOT = Path(__file__).resolve().parent.parent

# Each child reports that it is ready, waits for the starting signal, then takes the same path
# every embedded start takes (`app.db.setup.start_embedded_server` calls `ensure_os_user` first).
_CHILD = """
import sys, time, pathlib
from app.db.embedded_user import ensure_os_user
name, ready, go = sys.argv[1], pathlib.Path(sys.argv[2]), pathlib.Path(sys.argv[3])
ready.touch()
deadline = time.monotonic() + 60
while not go.exists():
    if time.monotonic() > deadline:
        sys.exit("no starting signal")
    time.sleep(0.001)
print('created' if ensure_os_user(name) else 'present')
"""


@pytest.mark.skipif(os.geteuid() != 0, reason="only root makes an OS user for the embedded server")
def test_many_first_starts_at_once_all_get_the_os_user(tmp_path: Path) -> None:
    name = f"cp_race_{uuid.uuid4().hex[:8]}"  # a throw-away user, absent before the test
    go = tmp_path / "go"
    starters = 8
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", _CHILD, name, str(tmp_path / f"ready-{i}"), str(go)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for i in range(starters)
    ]
    try:
        wait_until(
            lambda: len(list(tmp_path.glob("ready-*"))) == starters,
            what=f"{starters} starters ready",
            seen=lambda: f"{len(list(tmp_path.glob('ready-*')))} ready",
        )
        go.touch()
        outcomes = [
            (process.wait(timeout=CEILING), process.stdout.read() if process.stdout else "")
            for process in processes
        ]
        assert [code for code, _ in outcomes] == [0] * starters, outcomes
        # One useradd ran: overlapping ones may each rewrite /etc/passwd from their own copy.
        assert sorted(output.strip() for _, output in outcomes) == ["created"] + ["present"] * (starters - 1)
        assert pwd.getpwnam(name).pw_shell == "/bin/bash"
    finally:
        for process in processes:
            process.kill()
        subprocess.run(["userdel", name], capture_output=True, check=False)


@pytest.mark.skipif(os.geteuid() != 0, reason="only root runs the embedded server as another OS user")
def test_a_data_directory_kept_from_an_earlier_os_user_still_starts(tmp_path: Path) -> None:
    """`userdel embedded_postgres` and a later first start make the user again, maybe with a new
    uid; the data directory kept from before (`.data/postgres`) must still start."""
    from app.db.embedded_user import EMBEDDED_OS_USER
    from app.db.setup import start_embedded_server, stop_embedded_server

    data_dir = tmp_path / "postgres"
    start_embedded_server(data_dir)
    stop_embedded_server(data_dir)
    earlier = pwd.getpwnam("nobody")  # stands in for the uid the deleted user had
    for path in (data_dir, *data_dir.rglob("*")):
        os.chown(path, earlier.pw_uid, earlier.pw_gid, follow_symlinks=False)
    try:
        start_embedded_server(data_dir)
    finally:
        stop_embedded_server(data_dir)
    owner = pwd.getpwnam(EMBEDDED_OS_USER).pw_uid
    assert {path.stat().st_uid for path in data_dir.rglob("*") if not path.is_symlink()} == {owner}
