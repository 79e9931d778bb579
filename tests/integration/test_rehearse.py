"""rehearse on a real lab of its own: lab up, plan, apply, verify, and the verdict."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lpdeploy.cli import app
from lpdeploy.lab.fleet import Lab

PROFILE = """\
name: rehearsal-one
region: {country: TD, timezone: Africa/Ndjamena}
languages: [fr, en]
connectivity: offline
hardware: nuc-512g
age_bands: [early-primary]
subjects: [literacy, numeracy]
centres:
  - {id: rehearse-lc-01, learners: 40}
"""


@pytest.fixture(name="rehearsal_lab")
def fixture_rehearsal_lab() -> Iterator[Lab]:
    lab = Lab("rehearse")
    lab.down()
    try:
        yield lab
    finally:
        lab.down()


def test_rehearse_ends_with_the_verdict(
    rehearsal_lab: Lab, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LPDEPLOY_HOME", str(tmp_path / "home"))
    profile = tmp_path / "one.yaml"
    profile.write_text(PROFILE)
    args = ["rehearse", str(profile), "--lab", "rehearse"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.stdout + result.stderr
    report = tmp_path / "home" / "rehearsals" / "rehearsal-one.html"
    assert "1/1 centres ready" in result.stdout
    assert f"report {report}" in result.stdout
    assert "rehearse-lc-01: ready" in report.read_text()

    state = rehearsal_lab.status()
    assert state is not None
    stop = rehearsal_lab.ssh_command(state.hosts[0], "systemctl", "stop", "nginx")
    subprocess.run(stop, check=True, timeout=60, capture_output=True)
    again = CliRunner().invoke(app, args)
    assert again.exit_code == 1, again.stdout + again.stderr
    assert "0/1 centres ready" in again.stdout
    assert "rehearse-lc-01: NOT READY" in report.read_text()
