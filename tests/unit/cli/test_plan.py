from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from lpdeploy.cli import app

REPO = Path(__file__).parents[3]


def plan_args(fixtures: Path, *more: str) -> list[str]:
    profile = str(fixtures / "profiles" / "small.yaml")
    return ["plan", profile, "--catalog", str(fixtures / "catalog.json"), *more]


def test_plan_json(runner: CliRunner, fixtures: Path) -> None:
    result = runner.invoke(app, plan_args(fixtures, "--json"))
    assert result.exit_code == 0, result.stderr
    plan = json.loads(result.stdout)
    assert plan["schema_version"] == 1
    assert [c["id"] for c in plan["centres"]] == ["lc-01", "lc-02", "lc-03"]
    assert set(plan["centres"][0]) >= {
        "id",
        "host",
        "wave",
        "hardware",
        "storage_budget_bytes",
        "services",
        "bundles",
        "bytes_total",
        "learners",
    }


def test_plan_out_then_show_and_diff(runner: CliRunner, fixtures: Path, tmp_path: Path) -> None:
    first = tmp_path / "a.json"
    result = runner.invoke(app, plan_args(fixtures, "--out", str(first)))
    assert result.exit_code == 0, result.stderr
    assert "lc-02" in result.stdout
    shown = runner.invoke(app, ["plan", "show", str(first), "--json"])
    assert json.loads(shown.stdout) == json.loads(first.read_text())
    human = runner.invoke(app, ["plan", "show", str(first)])
    assert "storage-short" in human.stdout

    changed = json.loads(first.read_text())
    changed["centres"][0]["bundles"].pop()
    changed["centres"][1]["bundles"][0]["version"] = "2.0.0"
    changed["centres"] = changed["centres"][:2]
    second = tmp_path / "b.json"
    second.write_text(json.dumps(changed))
    result = runner.invoke(app, ["plan", "diff", str(first), str(second), "--json"])
    assert result.exit_code == 0, result.stderr
    diff = json.loads(result.stdout)
    assert diff["centres_removed"] == ["lc-03"]
    by_id = {c["id"]: c for c in diff["centres_changed"]}
    assert by_id["lc-01"]["bundles_removed"] == ["en-wellbeing-stories"]
    assert by_id["lc-02"]["bundles_updated"] == [
        {"id": "rhg-literacy-basics", "old": "1.0.0", "new": "2.0.0"}
    ]
    same = runner.invoke(app, ["plan", "diff", str(first), str(first)])
    assert "same bundles" in same.stdout


def test_plan_show_refuses_bad_plans(runner: CliRunner, tmp_path: Path) -> None:
    bad = tmp_path / "plan.json"
    bad.write_text('{"schema_version": 2}')
    result = runner.invoke(app, ["plan", "show", str(bad)])
    assert result.exit_code == 2
    assert "schema_version 2 is not supported" in result.stderr
    bad.write_text('{"schema_version": 1,\n "centres": 5}')
    result = runner.invoke(app, ["plan", "show", str(bad)])
    assert result.exit_code == 2
    assert f"{bad}:2: centres:" in result.stderr


def test_usage_error_is_exit_2(runner: CliRunner) -> None:
    result = runner.invoke(app, ["plan", "show"])
    assert result.exit_code == 2


def test_examples_plan_against_repo_catalog(runner: CliRunner, fixtures: Path) -> None:
    for example in sorted((REPO / "examples" / "profiles").glob("*.yaml")):
        result = runner.invoke(
            app, ["plan", str(example), "--catalog", str(fixtures / "catalog.json"), "--json"]
        )
        assert result.exit_code == 0, (example, result.stderr)
        plan = json.loads(result.stdout)
        assert plan["summary"]["centres"] == len(plan["centres"])
