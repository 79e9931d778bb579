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
