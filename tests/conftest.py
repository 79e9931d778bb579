from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

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


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Two groups for `pytest -n 2 --dist loadgroup` (make test): the emulated arm64
    servers, which keep one core busy for minutes, beside everything else, which shares
    the other labs and waits on them more than it computes. Within a group, tests run one
    after another, in order, as without -n."""
    for item in items:
        path = item.nodeid.split("::", 1)[0]
        item.add_marker(pytest.mark.xdist_group("emulated" if path in EMULATED else "main"))
