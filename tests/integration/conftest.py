"""The integration suite runs real servers: a lab of 3, up once per session."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from lpdeploy.lab.fleet import Lab

LAB_SIZE = 3


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/integration/" in str(item.path):
            item.add_marker(pytest.mark.integration)
            if os.geteuid() != 0:
                item.add_marker(pytest.mark.skip(reason="the lab needs root (CI runs as root)"))


@pytest.fixture(name="lab", scope="session")
def fixture_lab() -> Iterator[Lab]:
    """Three servers, centre-01..03, taken down at the end even when tests fail."""
    lab = Lab("test")
    lab.down()
    try:
        lab.up([f"centre-{i:02d}" for i in range(1, LAB_SIZE + 1)])
        yield lab
    finally:
        lab.down()


KOLIBRI_CENTRES = ["kolibri-01", "kolibri-02"]


@pytest.fixture(name="kolibri_lab", scope="session")
def fixture_kolibri_lab() -> Iterator[Lab]:
    """Two servers for Kolibri and learning outcomes (test_kolibri, then test_usage)."""
    lab = Lab("kolibri")
    lab.down()
    try:
        lab.up(KOLIBRI_CENTRES)
        yield lab
    finally:
        lab.down()
