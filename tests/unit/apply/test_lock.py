"""The apply lock: a second apply is refused while one holds it, and an apply after one
that was killed closes the SSH connections that one left open and ends its Ansible."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from lpdeploy.apply.lock import BusyError, RunLock, stop_group
from lpdeploy.runner.spec import control_path_dir

from ..runner.test_job import gone

STUBBORN = """
import os, signal, subprocess, sys, time
signal.signal(signal.SIGINT, signal.SIG_IGN)  # deaf to the polite stop
worker = subprocess.Popen(["sleep", "120"], start_new_session=True)  # as Ansible's workers
open(sys.argv[1], "w").write(str(worker.pid))
time.sleep(120)
"""


def test_a_second_apply_is_refused_while_the_first_holds_the_lock(tmp_path: Path) -> None:
    first = RunLock(tmp_path / "apply.lock")
    assert first.acquire("camp") == []
    with pytest.raises(BusyError, match=f"pid {os.getpid()}, plan camp"):
        RunLock(tmp_path / "apply.lock").acquire("camp")
    first.release()
    assert RunLock(tmp_path / "apply.lock").acquire("camp") == []


def killed_with(tmp_path: Path, workdir: str) -> None:
    """An apply that recorded `workdir` as its run folder and was killed (SIGKILL)."""
    killed = RunLock(tmp_path / "apply.lock")
    killed.acquire("camp")
    killed._write({"pid": 1, "plan": "camp", "ansible": [], "workdir": workdir})
    assert killed.fd is not None
    os.close(killed.fd)  # the kernel drops the lock of a process that dies; the file stays


def test_the_next_apply_closes_the_connections_a_killed_one_left_open(tmp_path: Path) -> None:
    left = control_path_dir(tmp_path / "runs" / "killed")
    left.mkdir()
    try:
        (left / "0123abcd").touch()  # a master's socket, its master gone with the kill
        killed_with(tmp_path, str(tmp_path / "runs" / "killed"))
        said = RunLock(tmp_path / "apply.lock").acquire("camp", tmp_path / "runs" / "next")
        assert said == [f"closed the SSH connections a killed apply left open ({left})"]
        assert not left.exists()
    finally:
        shutil.rmtree(left, ignore_errors=True)


@pytest.mark.parametrize("where", ["elsewhere", "named-like-ours"])
def test_a_folder_not_lpdeploys_own_is_left_as_it_is(tmp_path: Path, where: str) -> None:
    """Closing removes every file in the folder: the lock file names a run folder, and the
    connections' folder is derived from it, so a folder it names is never emptied."""
    if where == "elsewhere":
        folder = tmp_path / "lpd-cp-0123"
        folder.mkdir()
    else:
        folder = Path(tempfile.mkdtemp(prefix="lpd-cp-"))
    try:
        (folder / "keep").write_text("a user's file")
        killed_with(tmp_path, str(folder))
        assert RunLock(tmp_path / "apply.lock").acquire("camp") == []
        assert (folder / "keep").read_text() == "a user's file"
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_a_left_over_ansible_that_ignores_sigint_ends_with_its_workers(tmp_path: Path) -> None:
    script = tmp_path / "ansible-left-over.py"  # its name makes it an Ansible one
    script.write_text(STUBBORN)
    pid_file = tmp_path / "worker.pid"
    left = subprocess.Popen([sys.executable, str(script), str(pid_file)], start_new_session=True)
    worker = 0
    try:
        deadline = time.monotonic() + 10
        while not (pid_file.exists() and pid_file.read_text()):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        worker = int(pid_file.read_text())
        stop_group(left.pid, grace=0.5)
        assert left.wait(timeout=10) == -signal.SIGKILL
        assert gone(worker)
    finally:
        for pid in (left.pid, worker):
            if pid:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        left.wait()
