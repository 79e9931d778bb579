"""Hashing many files in processes that take the next file from one shared counter."""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import time
from multiprocessing.connection import Connection
from multiprocessing.sharedctypes import Synchronized
from pathlib import Path

import pytest

from lpdeploy.bundle import hashing
from lpdeploy.bundle.hashing import MAP_FROM, ParallelHash, sha256_files


@pytest.fixture(name="files")
def fixture_files(tmp_path: Path) -> list[Path]:
    """Files of many sizes, in no order of size: one is mapped, one is empty."""
    sizes = [3, 70_000, 0, MAP_FROM + 5, 1, 200_000, 4096, 9, 123_457, 65_536] * 3
    paths = []
    for n, size in enumerate(sizes):
        path = tmp_path / f"f{n:02d}"
        path.write_bytes(os.urandom(size))
        paths.append(path)
    return paths


def expected(paths: list[Path]) -> list[tuple[int, str]]:
    return [(p.stat().st_size, hashlib.sha256(p.read_bytes()).hexdigest()) for p in paths]


@pytest.mark.parametrize("workers", [1, 2, 3])
def test_every_file_is_hashed_in_the_order_given(
    files: list[Path], workers: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ran = tmp_path / "ran"
    ran.mkdir()
    real = hashing._worker

    def recorded(paths: list[str], counter: Synchronized[int], results: Connection) -> None:
        """The worker, leaving a file named by its pid (a count that no early end races)."""
        (ran / str(os.getpid())).touch()
        real(paths, counter, results)

    monkeypatch.setattr(hashing, "_worker", recorded)
    with ParallelHash(files, workers=workers, parallel_from=0) as pending:
        assert pending.results() == expected(files)
    assert len(list(ran.iterdir())) == workers - 1
    assert multiprocessing.active_children() == []


def test_a_file_that_cannot_be_read_is_its_own_result(files: list[Path]) -> None:
    whole = expected(files)
    files[4].unlink()
    with ParallelHash(files, workers=2, parallel_from=0) as pending:
        results = pending.results()
    assert isinstance(results[4], OSError) and "No such file" in str(results[4])
    assert results[:4] + results[5:] == whole[:4] + whole[5:]


def test_small_jobs_stay_in_this_process(files: list[Path]) -> None:
    with ParallelHash(files, workers=2) as pending:  # far below PARALLEL_FROM
        assert multiprocessing.active_children() == []
        assert pending.results() == expected(files)
    assert sha256_files(files[:3]) == expected(files[:3])


def dying_worker(paths: list[str], counter: Synchronized[int], results: Connection) -> None:
    """A worker that takes two files and dies before it says anything."""
    for _ in range(2):
        with counter.get_lock():
            counter.value += 1
    os._exit(1)


def test_the_files_a_dead_worker_took_are_hashed_by_the_caller(
    files: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(hashing, "_worker", dying_worker)
    with ParallelHash(files, workers=2, parallel_from=0) as pending:
        assert pending.results() == expected(files)


def stuck_worker(paths: list[str], counter: Synchronized[int], results: Connection) -> None:
    """A worker on a file that never ends (a network share hung)."""
    time.sleep(30)


def test_workers_are_ended_when_the_caller_leaves_early(
    files: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(hashing, "_worker", stuck_worker)
    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt), ParallelHash(files, workers=3, parallel_from=0):
        raise KeyboardInterrupt
    assert multiprocessing.active_children() == []
    assert time.monotonic() - started < 10
