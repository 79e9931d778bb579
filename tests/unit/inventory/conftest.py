from __future__ import annotations

from pathlib import Path

import pytest

from lpdeploy.plan import Plan
from lpdeploy.plan.load import load_plan


@pytest.fixture(name="plan")
def fixture_plan(fixtures: Path) -> Plan:
    """Three centres: lc-01 with a host in the plan, lc-02 and lc-03 without."""
    return load_plan(fixtures / "golden" / "small-plan.json")
