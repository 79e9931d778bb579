"""The apply lock: a second apply is refused while one holds it, and an apply after one
that was killed closes the SSH connections that one left open."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from lpdeploy.apply.lock import BusyError, RunLock
from lpdeploy.runner.spec import control_path_dir


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
