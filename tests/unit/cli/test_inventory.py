"""`lpdeploy inventory PLAN --out FILE`, and trust and preflight refusing what it wrote
until it is filled in. Ansible's own parser reads the file (no network)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lpdeploy.cli import app
from lpdeploy.inventory.connections import centre_connections
from lpdeploy.inventory.skeleton import ADDRESS, KEY_FILE
from lpdeploy.plan.load import load_plan
from lpdeploy.runner.inventory import inventory_connections


@pytest.fixture(name="plan_file")
def fixture_plan_file(fixtures: Path) -> Path:
    return fixtures / "golden" / "small-plan.json"


@pytest.fixture(name="home", autouse=True)
def fixture_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("LPDEPLOY_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def test_writes_the_skeleton(runner: CliRunner, plan_file: Path, tmp_path: Path) -> None:
    target = tmp_path / "site" / "inventory.yml"
    result = runner.invoke(app, ["inventory", str(plan_file), "--out", str(target), "--json"])
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == {
        "inventory": str(target),
        "centres": ["lc-01", "lc-02", "lc-03"],
        "hub": None,
        "fill_in": [
            {"host": "all", "field": "ansible_ssh_private_key_file"},
            {"host": "lc-02", "field": "ansible_host"},
            {"host": "lc-03", "field": "ansible_host"},
        ],
    }
    assert f"lpdeploy trust {target}" in target.read_text()
    human = runner.invoke(app, ["inventory", str(plan_file), "--out", str(target), "--force"])
    assert human.exit_code == 0, human.stderr
    assert "fill in ansible_host: lc-02, lc-03" in human.stdout
    assert "lpdeploy trust" in human.stderr


def test_refuses_to_overwrite_without_force(
    runner: CliRunner, plan_file: Path, tmp_path: Path
) -> None:
    target = tmp_path / "inventory.yml"
    target.write_text("kept\n")
    result = runner.invoke(app, ["inventory", str(plan_file), "--out", str(target)])
    assert result.exit_code == 2
    assert f"{target}: --out: exists; give --force" in result.stderr
    assert target.read_text() == "kept\n"
    result = runner.invoke(app, ["inventory", str(plan_file), "--out", str(target), "--force"])
    assert result.exit_code == 0, result.stderr
    assert target.read_text().startswith("# The servers of plan fixture-camp")
    assert not [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_ansible_reads_every_centre_and_the_hub(
    runner: CliRunner, plan_file: Path, tmp_path: Path
) -> None:
    target = tmp_path / "inventory.yml"
    args = ["inventory", str(plan_file), "--out", str(target), "--hub", "camp-hub"]
    assert runner.invoke(app, args).exit_code == 0
    connections = inventory_connections(target)
    assert sorted(connections) == ["camp-hub", "lc-01", "lc-02", "lc-03"]
    assert connections["lc-01"].address == "10.77.0.11"
    assert connections["lc-02"].address == connections["camp-hub"].address == ADDRESS
    assert {c.user for c in connections.values()} == {"root"}
    assert {c.key_file for c in connections.values()} == {KEY_FILE}


def test_trust_and_preflight_refuse_it_until_filled_in(
    runner: CliRunner, plan_file: Path, tmp_path: Path
) -> None:
    target = tmp_path / "inventory.yml"
    assert runner.invoke(app, ["inventory", str(plan_file), "--out", str(target)]).exit_code == 0
    trust = runner.invoke(app, ["trust", str(target), "--yes"])
    assert trust.exit_code == 2
    assert "ansible_host: still a FILL-IN-... placeholder for lc-02, lc-03" in trust.stderr
    assert "ansible_ssh_private_key_file: still a FILL-IN-... placeholder for lc-01" in (
        trust.stderr
    )
    assert "Traceback" not in trust.output
    preflight = runner.invoke(
        app, ["preflight", str(plan_file), "--inventory", str(target), "--json"]
    )
    assert preflight.exit_code == 2
    errors = json.loads(preflight.stdout)["errors"]
    assert [(e["path"], e["field"]) for e in errors] == [
        (str(target), "ansible_host"),
        (str(target), "ansible_ssh_private_key_file"),
    ]
    assert "lc-02, lc-03" in errors[0]["message"]

    filled = target.read_text().replace(ADDRESS, "192.0.2.7").replace(KEY_FILE, "/keys/site")
    target.write_text(filled)
    connections = centre_connections(load_plan(plan_file), target, None)
    assert sorted(connections) == ["lc-01", "lc-02", "lc-03"]
    assert connections["lc-03"].address == "192.0.2.7"


def test_trust_refuses_a_limit_or_hub_the_inventory_does_not_name(
    runner: CliRunner, plan_file: Path, tmp_path: Path
) -> None:
    target = tmp_path / "inventory.yml"
    assert runner.invoke(app, ["inventory", str(plan_file), "--out", str(target)]).exit_code == 0
    target.write_text(target.read_text().replace(ADDRESS, "192.0.2.7").replace(KEY_FILE, "/k"))
    limited = runner.invoke(app, ["trust", str(target), "--limit", "lc-01,lc-09", "--json"])
    assert limited.exit_code == 2, limited.output
    assert "not hosts of the inventory: lc-09" in limited.stdout
    via = runner.invoke(app, ["trust", str(target), "--via", "hub-x", "--json"])
    assert via.exit_code == 2, via.output
    assert "not a host of the inventory" in via.stdout
