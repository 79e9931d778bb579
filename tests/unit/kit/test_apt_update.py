"""`apt-get update` in the package chroot, against a mirror that fails for a moment."""

from __future__ import annotations

import time
from collections.abc import Sequence

import pytest

from lpdeploy.kit import packages
from lpdeploy.lab.system import LabError

NOT_SIGNED = (
    "E: The repository 'http://mirror/debian-security bookworm-security InRelease' is not signed."
)


def failing(times: int, calls: list[list[str]]) -> object:
    def run(command: Sequence[str], timeout: float = 120) -> str:
        calls.append(list(command))
        if len(calls) <= times:
            raise LabError(f"`{' '.join(command)}` failed: {NOT_SIGNED}")
        return ""

    return run


def test_an_update_that_fails_once_is_tried_again(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[list[str]] = []
    pauses: list[float] = []
    monkeypatch.setattr(packages, "run", failing(1, calls))
    monkeypatch.setattr(time, "sleep", pauses.append)
    packages._update(["chroot", "/root"])
    assert len(calls) == 2 and all("update" in c for c in calls)
    assert pauses == [packages.UPDATE_PAUSE]


def test_an_update_that_keeps_failing_says_what_apt_said(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[list[str]] = []
    monkeypatch.setattr(packages, "run", failing(99, calls))
    monkeypatch.setattr(time, "sleep", lambda _: None)
    with pytest.raises(LabError, match="is not signed"):
        packages._update(["chroot", "/root"])
    assert len(calls) == packages.UPDATE_TRIES
