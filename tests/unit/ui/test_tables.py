"""At 80 columns no table cuts an identity: every centre, bundle and host id shows whole."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from lpdeploy.apply.rollout import ApplyResult, CentreResult
from lpdeploy.cli import app
from lpdeploy.journal import Journal
from lpdeploy.readiness.report import CHECK_ORDER, CheckResult, centre_report
from lpdeploy.readiness.report import ReadinessReport as Report
from lpdeploy.ui import console
from lpdeploy.ui.lab import show_lab
from lpdeploy.ui.progress import show_result
from lpdeploy.ui.readiness import show_report

REPO = Path(__file__).parents[3]
PROFILES = sorted((REPO / "examples" / "profiles").glob("*.yaml"))
CENTRES = sorted(
    {c["id"] for p in PROFILES for c in yaml.safe_load(p.read_text())["centres"]},
    key=lambda cid: (-len(cid), cid),
)
LONGEST = CENTRES[0]
BUNDLES = sorted(
    (p.parent.name.rsplit("-", 1)[0] for p in (REPO / "bundles").glob("*-*/bundle.json")),
    key=lambda bid: (-len(bid), bid),
)


@pytest.fixture(name="narrow", autouse=True)
def fixture_narrow(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Both consoles 80 columns wide, as an ordinary terminal."""
    monkeypatch.setattr(console.out, "width", 80)
    monkeypatch.setattr(console.err, "width", 80)
    yield


def widest_line(text: str) -> int:
    return max(len(line) for line in text.splitlines())


def test_examples_have_long_ids() -> None:
    assert len(LONGEST) >= 15
    assert len(BUNDLES[0]) >= 17


@pytest.mark.parametrize("profile", PROFILES, ids=lambda p: p.stem)
def test_plan_show(runner: CliRunner, profile: Path, tmp_path: Path) -> None:
    plan = tmp_path / "plan.json"
    result = runner.invoke(app, ["plan", str(profile), "--out", str(plan)])
    assert result.exit_code == 0, result.stderr
    shown = runner.invoke(app, ["plan", "show", str(plan)])
    assert shown.exit_code == 0, shown.stderr
    for centre in yaml.safe_load(profile.read_text())["centres"]:
        assert re.search(rf"│ {centre['id']} +│", shown.stdout), centre["id"]
    validated = runner.invoke(app, ["profile", "validate", str(profile)])
    assert validated.exit_code == 0, validated.stderr
    for centre in yaml.safe_load(profile.read_text())["centres"]:
        assert re.search(rf"│ {centre['id']} +│", validated.stdout), centre["id"]


def test_catalog_list(runner: CliRunner) -> None:
    result = runner.invoke(app, ["catalog", "list", "--catalog", str(REPO / "bundles")])
    assert result.exit_code == 0, result.stderr
    assert widest_line(result.stdout) <= 80
    for bundle in BUNDLES:
        assert f"│ {bundle} " in result.stdout, bundle


def report(failing: dict[str, set[str]]) -> Report:
    centres = [
        centre_report(
            cid,
            f"10.77.0.{11 + i}",
            [
                CheckResult(name=name, ok=name not in failing.get(cid, set()), detail="x")
                for name in CHECK_ORDER[:10]
            ],
        )
        for i, cid in enumerate(CENTRES[:6])
    ]
    return Report(plan="p", ready=all(c.ready for c in centres), centres=centres)


def test_verify_all_ready(capsys: pytest.CaptureFixture[str]) -> None:
    show_report(report({}))
    shown = capsys.readouterr().out
    assert widest_line(shown) <= 80
    for cid in CENTRES[:6]:
        assert re.search(rf"│ {cid} +│ yes +│ all 10 ok +│", shown), shown
    assert "6/6 centres ready" in shown


def test_verify_names_the_failing_checks(capsys: pytest.CaptureFixture[str]) -> None:
    show_report(report({LONGEST: {"disk", "clock"}}))
    shown = capsys.readouterr().out
    assert re.search(rf"│ {LONGEST} +│ NO +│ disk, clock +│", shown), shown
    assert f"{LONGEST} disk: x" in shown
    assert "5/6 centres ready" in shown


def test_verify_wide_terminal_keeps_a_column_per_check(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(console.out, "width", 200)
    show_report(report({LONGEST: {"disk"}}))
    shown = capsys.readouterr().out
    header = next(line for line in shown.splitlines() if "centre" in line)
    assert all(name in header for name in CHECK_ORDER[:10])
    assert re.search(rf"│ {LONGEST} +│ NO +│ ok .*│ FAIL +│", shown), shown


def test_apply_result(capsys: pytest.CaptureFixture[str]) -> None:
    result = ApplyResult(
        run_id=7,
        centres=[
            CentreResult(centre=cid, wave=1, outcome="failed", changed=3, message="m " * 60)
            for cid in CENTRES[:6]
        ],
    )
    show_result(result)
    shown = capsys.readouterr().out
    assert widest_line(shown) <= 80
    for cid in CENTRES[:6]:
        assert re.search(rf"│ {cid} +│ failed", shown), cid


def test_status(runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LPDEPLOY_HOME", str(tmp_path))
    journal = Journal(tmp_path / "journal.sqlite")
    run = journal.start_run("apply", "p", "0" * 64)
    for cid in CENTRES:
        journal.record_centre(run, cid, 1, "changed", 4, 1.0, "")
    journal.finish_run(run, "ok")
    journal.close()
    result = runner.invoke(app, ["status"])
    assert result.exit_code == 0, result.stderr
    for cid in CENTRES:
        assert re.search(rf"│ {cid} +│ changed", result.stdout), cid


def test_lab_status(capsys: pytest.CaptureFixture[str]) -> None:
    hosts = [
        {"id": cid, "address": f"10.177.200.{100 + i}", "status": "running", "cut": False}
        for i, cid in enumerate(CENTRES)
    ]
    document = {"lab": "main", "up": True, "hosts": hosts, "inventory": "/x/inventory.yml"}
    show_lab(document, console.out)
    shown = capsys.readouterr().out
    for host in hosts:
        assert re.search(rf"│ {host['id']} +│ {host['address']} +│", shown), host["id"]
