from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

os.environ["NO_COLOR"] = "1"
os.environ["COLUMNS"] = "200"

FIXTURES = Path(__file__).parent / "fixtures"
REPO = Path(__file__).parent.parent


@pytest.fixture(name="fixtures")
def fixture_fixtures() -> Path:
    return FIXTURES


@pytest.fixture(name="runner")
def fixture_runner() -> CliRunner:
    return CliRunner()


@pytest.fixture(name="write")
def fixture_write(tmp_path: Path) -> Callable[[str, str], Path]:
    """Write a text file into the test's temporary folder and return its path."""

    def write(name: str, text: str) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path

    return write


EMULATED = {
    "tests/integration/test_arm64.py",
    "tests/integration/test_arm64_hub.py",
    "tests/unit/kit/test_packages.py",
    "tests/unit/lab/test_emulation.py",
}
"""Tests that run arm64 programs under emulation (or change how this machine runs them)."""
OWN_LABS = {
    "tests/integration/test_hub.py",
    "tests/integration/test_kolibri.py",
    "tests/integration/test_rehearse.py",
    "tests/integration/test_usage.py",
}
"""Integration tests with labs of their own, or the one session lab (Kolibri's) that no
other module uses."""


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """Three groups for `pytest -n 3` (make test), each given whole to one process and run
    there in order, as without -n:
    - the session's shared lab and every test that uses it, and the thin-link tests (a lab
      of their own, mostly waiting on a shaped link: 43% of one core over their 6.5 min);
    - the emulated arm64 servers (one core busy for minutes), then the unit tests (some of
      which change how this machine runs arm64 programs: they run once those servers are
      down, not beside them);
    - the tests with labs of their own (hubs, rehearse), and Kolibri's lab with the
      learning-outcome tests that follow it there.
    With two groups (the shared labs, the thin links among them; all else), `.ci/run` took
    34 min on one machine and 52 on another, each group about half of the tests' time.
    (xdist's `--dist loadgroup` did not keep a group on one process with pytest 9.2 here:
    its marks reached no test id.)"""
    from xdist.scheduler import LoadScopeScheduling  # type: ignore[import-untyped]

    class Groups(LoadScopeScheduling):  # type: ignore[misc]
        def _split_scope(self, nodeid: str) -> str:
            return group(nodeid.split("::", 1)[0])

    return Groups(config, log)


def group(path: str) -> str:
    if path in OWN_LABS:
        return "own-labs"
    if path.startswith("tests/integration/") and path not in EMULATED:
        return "shared-lab"
    return "emulated-then-unit"
