"""The apply lock: a second apply is refused while one holds it, and an apply after one
that was killed closes the SSH connections that one left open."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from lpdeploy.apply.lock import BusyError, RunLock
from lpdeploy.runner.spec import CONTROL_PREFIX


def test_a_second_apply_is_refused_while_the_first_holds_the_lock(tmp_path: Path) -> None:
    first = RunLock(tmp_path / "apply.lock")
    assert first.acquire("camp") == []
    with pytest.raises(BusyError, match=f"pid {os.getpid()}, plan camp"):
        RunLock(tmp_path / "apply.lock").acquire("camp")
    first.release()
    assert RunLock(tmp_path / "apply.lock").acquire("camp") == []


def killed_with(tmp_path: Path, folder: str) -> None:
    """An apply that recorded `folder` as its connections' and was killed (SIGKILL)."""
    killed = RunLock(tmp_path / "apply.lock")
    killed.acquire("camp")
    killed._write({"pid": 1, "plan": "camp", "ansible": [], "connections": folder})
    assert killed.fd is not None
    os.close(killed.fd)  # the kernel drops the lock of a process that dies; the file stays


def test_the_next_apply_closes_the_connections_a_killed_one_left_open(tmp_path: Path) -> None:
    left = Path(tempfile.mkdtemp(prefix=CONTROL_PREFIX))  # where control_path_dir puts them
    try:
        (left / "0123abcd").touch()  # a master's socket, its master gone with the kill
        killed_with(tmp_path, str(left))
        said = RunLock(tmp_path / "apply.lock").acquire("camp", tmp_path / "next")
        assert said == [f"closed the SSH connections a killed apply left open ({left})"]
        assert not left.exists()
    finally:
        shutil.rmtree(left, ignore_errors=True)


@pytest.mark.parametrize("where", ["elsewhere", "named-not-ours"])
def test_a_folder_not_lpdeploys_own_is_left_as_it_is(tmp_path: Path, where: str) -> None:
    """Closing removes every file in the folder: a lock file that names another is not
    followed."""
    folder = tmp_path / f"{CONTROL_PREFIX}0123" if where == "elsewhere" else None
    if folder is None:
        folder = Path(tempfile.mkdtemp(prefix="lpd-other-"))
    try:
        (folder).mkdir(exist_ok=True)
        (folder / "keep").write_text("a user's file")
        killed_with(tmp_path, str(folder))
        assert RunLock(tmp_path / "apply.lock").acquire("camp") == []
        assert (folder / "keep").read_text() == "a user's file"
    finally:
        shutil.rmtree(folder, ignore_errors=True)
