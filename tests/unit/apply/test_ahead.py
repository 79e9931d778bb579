"""Staging ahead's order: a hub's copy first, then (through a gate) the staging run; a
stop before the gate opens runs nothing."""

from __future__ import annotations

import subprocess
import threading
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from lpdeploy.apply import ahead as module
from lpdeploy.apply.ahead import Ahead
from lpdeploy.errors import NotRightError
from lpdeploy.runner.spec import RunSpec

SPEC = RunSpec(private_data_dir=Path("/nowhere"), inventory=[])


@pytest.fixture(name="started")
def fixture_started(monkeypatch: pytest.MonkeyPatch) -> list[RunSpec]:
    """Specs the staging runs were started with (a run that is over at once)."""
    started: list[RunSpec] = []

    def start_run(spec: RunSpec) -> Any:
        started.append(spec)
        return SimpleNamespace(finished=True, interrupt=lambda grace: None)

    monkeypatch.setattr(module, "start_run", start_run)
    return started


def test_a_gated_run_waits_for_the_canarys_push_and_the_hub_copy_goes_first(
    started: list[RunSpec],
) -> None:
    copied: list[threading.Event] = []
    one = Ahead(SPEC, "hub", first=copied.append, gated=True)
    time.sleep(0.5)
    assert len(copied) == 1 and started == []  # copied to the hub; the gate holds the run
    one.gate.set()
    one.end(stop=False)
    assert started == [SPEC]


def test_a_stop_before_the_gate_opens_runs_nothing(started: list[RunSpec]) -> None:
    one = Ahead(SPEC, "hub", first=lambda stop: None, gated=True)
    one.end(stop=True)
    assert started == [] and one.run is None


def test_a_hub_that_cannot_take_the_bundles_leaves_them_to_the_wave(
    started: list[RunSpec],
) -> None:
    def first(stop: threading.Event) -> None:
        raise NotRightError("hub hub: copying x failed")

    one = Ahead(SPEC, "hub", first=first)
    one.end(stop=False)
    assert started == []


def test_a_direct_route_starts_at_once(started: list[RunSpec]) -> None:
    one = Ahead(SPEC, None)
    one.end(stop=False)
    assert started == [SPEC]


def test_a_direct_routes_run_is_lowered_whole_as_it_starts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The staging run's session (its autogroup) goes to nice 19 once its Ansible is up:
    the canary's wave comes first."""
    ansible = subprocess.Popen(["sleep", "30"], start_new_session=True)
    seen: list[int] = []
    try:
        fake = SimpleNamespace(finished=False, process_group=lambda: ansible.pid)
        monkeypatch.setattr(module, "start_run", lambda spec: fake)
        one = Ahead(SPEC, None, watch=SimpleNamespace(ansible_started=seen.append))
        one.thread.join(timeout=10)
        autogroup = Path(f"/proc/{ansible.pid}/autogroup").read_text()
    finally:
        ansible.kill()
        ansible.wait()
    assert seen == [ansible.pid]
    if "nice" in autogroup:  # a kernel with autogroups
        assert autogroup.split("nice")[1].split()[0] == "19", autogroup
