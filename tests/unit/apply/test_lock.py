"""The apply lock: a second apply is refused while one holds it, and an apply after one
that was killed closes the SSH connections that one left open."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from lpdeploy.apply.lock import BusyError, RunLock


def test_a_second_apply_is_refused_while_the_first_holds_the_lock(tmp_path: Path) -> None:
    first = RunLock(tmp_path / "apply.lock")
    assert first.acquire("camp") == []
    with pytest.raises(BusyError, match=f"pid {os.getpid()}, plan camp"):
        RunLock(tmp_path / "apply.lock").acquire("camp")
    first.release()
    assert RunLock(tmp_path / "apply.lock").acquire("camp") == []


def test_the_next_apply_closes_the_connections_a_killed_one_left_open(tmp_path: Path) -> None:
    left = tmp_path / "lpd-cp-killed"
    left.mkdir()
    (left / "0123abcd").touch()  # a master's socket, its master gone with the kill
    killed = RunLock(tmp_path / "apply.lock")
    killed.acquire("camp", left)
    assert killed.fd is not None
    os.close(killed.fd)  # the kernel drops the lock of a process that dies; the file stays
    said = RunLock(tmp_path / "apply.lock").acquire("camp", tmp_path / "lpd-cp-next")
    assert said == [f"closed the SSH connections a killed apply left open ({left})"]
    assert not left.exists()
