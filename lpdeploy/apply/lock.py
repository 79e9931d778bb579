"""One apply at a time per journal, and the clean-up after one that was killed.

The lock is an flock on `<home>/apply.lock`: the kernel drops it when its holder dies,
however it dies, so a stale lock is simply taken. The file also names the holder, the
Ansible process groups it started and its run folder (whose shared SSH connections are in
control_path_dir of it), so that the next apply can end an Ansible left running by an
lpdeploy that was killed (SIGKILL), and close the connections it left open, before it
starts its own.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lpdeploy.errors import LpdeployError
from lpdeploy.runner.job import STOP_GRACE, end_trees, is_ansible
from lpdeploy.runner.run import close_connections
from lpdeploy.runner.spec import control_path_dir


class BusyError(LpdeployError):
    """Another apply holds this journal."""


@dataclass
class RunLock:
    path: Path
    fd: int | None = None
    guard: threading.Lock = field(default_factory=threading.Lock)
    """ansible_started is called from more than one thread (a wave and the staging ahead)."""

    def acquire(self, plan: str, workdir: Path | None = None) -> list[str]:
        """Take the lock or raise BusyError naming the holder; return what was cleaned up.
        `workdir`: this apply's run folder."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read(fd)
            os.close(fd)
            since = time.strftime("%H:%M:%S", time.localtime(holder.get("started", 0)))
            raise BusyError(
                f"another apply is running on this journal: pid {holder.get('pid', '?')}, "
                f"plan {holder.get('plan', '?')}, since {since} ({self.path}); "
                "wait for it, or stop it with Ctrl-C, then `lpdeploy apply PLAN --resume`"
            ) from None
        self.fd = fd
        left = _read(fd)
        cleaned = [end_left_over(group) for group in left.get("ansible", [])]
        cleaned.append(close_left_open(left.get("workdir")))
        self._write({"pid": os.getpid(), "plan": plan, "started": time.time(), "ansible": [],
                     "workdir": str(workdir) if workdir else None})  # fmt: skip
        return [c for c in cleaned if c]

    def ansible_started(self, group: int) -> None:
        """Record an Ansible process group, so that a later apply can end it if we die."""
        with self.guard:
            holder = _read(self.fd) if self.fd is not None else {}
            holder["ansible"] = [*holder.get("ansible", []), group]
            self._write(holder)

    def release(self) -> None:
        if self.fd is not None:
            os.ftruncate(self.fd, 0)
            os.close(self.fd)
            self.fd = None

    def _write(self, holder: dict[str, Any]) -> None:
        assert self.fd is not None
        data = json.dumps(holder).encode()
        os.ftruncate(self.fd, 0)
        os.pwrite(self.fd, data, 0)


def _read(fd: int) -> dict[str, Any]:
    try:
        text = os.pread(fd, 1 << 16, 0).decode()
        found = json.loads(text) if text.strip() else {}
    except (OSError, ValueError):
        return {}
    return found if isinstance(found, dict) else {}


def end_left_over(group: object) -> str:
    """End an Ansible process group a killed apply left behind (SIGINT, then SIGKILL)."""
    if not isinstance(group, int) or not is_ansible(group):
        return ""
    stop_group(group, STOP_GRACE)
    return f"ended Ansible (pid {group}) left running by a killed apply"


def close_left_open(workdir: object) -> str:
    """Close the SSH connections a killed apply left open (ControlPersist keeps them, and
    their folder for good). The folder is derived from the run folder the lock file names,
    never taken from it: closing removes every file in it."""
    if not isinstance(workdir, str) or not workdir:
        return ""
    folder = control_path_dir(Path(workdir))
    if folder.is_symlink() or not folder.is_dir():
        return ""
    close_connections(folder)
    return f"closed the SSH connections a killed apply left open ({folder})"


def stop_group(group: int, grace: float) -> None:
    """SIGINT to the group, then, once `grace` seconds have passed, SIGKILL to it and to
    every process under its leader (Ansible's workers, each in a session of its own)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(group, signal.SIGINT)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and _group_alive(group):
        time.sleep(0.1)
    if is_ansible(group):  # still the one: its pid was not reused in the meantime
        end_trees([group])
    with contextlib.suppress(ProcessLookupError):
        os.killpg(group, signal.SIGKILL)


def _group_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    return is_ansible(group)
