"""rehearse = lab up, plan, apply, verify: its verdict, report and exit code (the lab, apply
and verify are fakes here; tests/integration/test_rehearse.py runs the real ones)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from lpdeploy.apply.rollout import ApplyResult, CentreResult
from lpdeploy.cli import app
from lpdeploy.cli import rehearse as rehearse_module
from lpdeploy.lab.state import HostState, LabState
from lpdeploy.plan.model import Plan
from lpdeploy.readiness.report import CheckResult, ReadinessReport, centre_report


class FakeLab:
    def __init__(self, name: str) -> None:
        self.inventory = Path("/nowhere/inventory.yml")

    def up(self, names: list[str], arches: dict[str, str]) -> LabState:
        hosts = [
            HostState(id=n, index=i, address=f"10.9.0.{10 + i}", netns="n", veth="v")
            for i, n in enumerate(names)
        ]
        return LabState(name="t", subnet="10.9.0", bridge="b", hosts=hosts)


def fake_apply(outcome: str) -> Any:
    def run_apply(plan: Plan, **kwargs: Any) -> ApplyResult:
        return ApplyResult(
            run_id=1, centres=[CentreResult(centre=c.id, wave=c.wave, outcome=outcome)
                               for c in plan.centres],
        )  # fmt: skip

    return run_apply


def fake_verify(failing: set[str]) -> Any:
    def run_verify(plan: Plan, **kwargs: Any) -> ReadinessReport:
        checks = {
            c.id: [
                CheckResult(name="disk", ok=c.id not in failing, detail="12% used"),
                CheckResult(name="portal", ok=True, detail="HTTP 200"),
            ]
            for c in plan.centres
        }
        centres = [centre_report(c.id, c.host or "", checks[c.id]) for c in plan.centres]
        return ReadinessReport(plan=plan.profile.name, ready=not failing, centres=centres)

    return run_verify


def rehearse(
    runner: CliRunner,
    fixtures: Path,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    *,
    outcome: str = "changed",
    failing: frozenset[str] = frozenset(),
    json_output: bool = False,
) -> Any:
    monkeypatch.setenv("LPDEPLOY_HOME", str(tmp_path))
    monkeypatch.setattr(rehearse_module, "Lab", FakeLab)
    monkeypatch.setattr(rehearse_module, "run_apply", fake_apply(outcome))
    monkeypatch.setattr(rehearse_module, "run_verify", fake_verify(set(failing)))
    args = ["rehearse", str(fixtures / "profiles" / "small.yaml")]
    args += ["--catalog", str(fixtures / "catalog.json")]
    return runner.invoke(app, [*args, "--json"] if json_output else args)


def test_ready(
    runner: CliRunner, fixtures: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    result = rehearse(runner, fixtures, monkeypatch, tmp_path)
    assert result.exit_code == 0, result.stderr
    report = tmp_path / "rehearsals" / "fixture-camp.html"
    assert "3/3 centres ready" in result.stdout
    assert f"report {report}" in result.stdout
    assert "3 of 3 centres ready" in report.read_text()
    assert "portal http://10.9.0.10/" in result.stdout


def test_a_fault_found_by_verify_exits_1(
    runner: CliRunner, fixtures: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    result = rehearse(runner, fixtures, monkeypatch, tmp_path, failing=frozenset({"lc-02"}))
    assert result.exit_code == 1, result.stderr
    assert "2/3 centres ready" in result.stdout
    assert "lc-02 disk: 12% used" in result.stdout
    assert "lc-02: NOT READY" in (tmp_path / "rehearsals" / "fixture-camp.html").read_text()


def test_a_failed_apply_exits_1_and_still_verifies(
    runner: CliRunner, fixtures: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    result = rehearse(runner, fixtures, monkeypatch, tmp_path, outcome="failed")
    assert result.exit_code == 1, result.stderr
    assert "0/3 centres applied" in result.stdout
    assert "3/3 centres ready" in result.stdout


def test_json_holds_plan_apply_and_readiness(
    runner: CliRunner, fixtures: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    result = rehearse(
        runner, fixtures, monkeypatch, tmp_path, failing=frozenset({"lc-01"}), json_output=True
    )
    assert result.exit_code == 1, result.stderr
    document = json.loads(result.stdout)
    assert document["summary"]["centres"] == 3
    assert document["ok"] is True
    assert [c["outcome"] for c in document["centres"]] == ["changed"] * 3
    assert document["ready"] is False
    by_id = {c["id"]: c["ready"] for c in document["readiness"]["centres"]}
    assert by_id == {"lc-01": False, "lc-02": True, "lc-03": True}
    assert Path(document["report"]).is_file()


def test_a_plan_with_hubs_is_rehearsed_without_them(
    runner: CliRunner, fixtures: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    profile = tmp_path / "hubs.yaml"
    text = (fixtures / "profiles" / "small.yaml").read_text()
    profile.write_text(text + "hubs:\n  - id: far-hub\n    centres: [lc-02, lc-03]\n")
    applied: list[Plan] = []

    def run_apply(plan: Plan, **kwargs: Any) -> ApplyResult:
        applied.append(plan)
        result: ApplyResult = fake_apply("changed")(plan)
        return result

    monkeypatch.setenv("LPDEPLOY_HOME", str(tmp_path))
    monkeypatch.setattr(rehearse_module, "Lab", FakeLab)
    monkeypatch.setattr(rehearse_module, "run_apply", run_apply)
    monkeypatch.setattr(rehearse_module, "run_verify", fake_verify(set()))
    args = ["rehearse", str(profile), "--catalog", str(fixtures / "catalog.json")]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.stderr
    assert "rehearsing without the plan's hubs (far-hub)" in result.stderr
    assert applied[0].hubs == [] and all(c.hub is None for c in applied[0].centres)
