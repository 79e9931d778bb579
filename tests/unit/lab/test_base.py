"""The lab's base images (lpdeploy/lab/base.py): built once, whoever asks at the same time."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from lpdeploy.lab import base


def test_two_callers_at_once_build_a_base_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    built: list[str] = []
    building = threading.Lock()

    def build(cache: Path, arch: str, key: str, root: Path, archive: Path) -> Path:
        assert building.acquire(blocking=False), "two builds at once"
        built.append(key)
        time.sleep(0.3)
        root.mkdir()
        (root / ".complete").write_text(key)
        building.release()
        return root

    monkeypatch.setattr(base, "_build", build)
    with ThreadPoolExecutor(max_workers=2) as pool:
        roots = list(pool.map(lambda _: base.ensure_base(tmp_path, "amd64"), range(2)))
    assert len(built) == 1
    assert roots[0] == roots[1] == tmp_path / f"base-{built[0]}"
