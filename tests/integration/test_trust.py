"""Host keys (issue 7, items 3-4): a server whose key changed is refused by preflight,
trust and apply, while the others go on; an inventory with no pinned keys is pinned with
`lpdeploy trust` and then passes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from lpdeploy.lab.fleet import Lab

from .test_lab import hosts

REPO = Path(__file__).parents[2]
PROFILE = REPO / "tests" / "fixtures" / "profiles" / "lab3.yaml"
KEY = "etc/ssh/ssh_host_ed25519_key"


def lpdeploy(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # HOME too: ~/.ssh/known_hosts is read as a pinned file, and must be this test's own.
    env = {**os.environ, "LPDEPLOY_HOME": str(home), "HOME": str(home), "NO_COLOR": "1"}
    return subprocess.run(
        [sys.executable, "-m", "lpdeploy", *args], capture_output=True, text=True, env=env,
        stdin=subprocess.DEVNULL, timeout=900, check=False,
    )  # fmt: skip


@pytest.fixture(name="plan")
def fixture_plan(tmp_path: Path) -> Path:
    path = tmp_path / "plan.json"
    done = lpdeploy(tmp_path / "home", "plan", str(PROFILE), "--out", str(path))
    assert done.returncode == 0, done.stderr
    return path


@pytest.fixture(name="rekeyed")
def fixture_rekeyed(lab: Lab, tmp_path: Path) -> Iterator[str]:
    """centre-02 reinstalled: a new host key (sshd reads it at each new connection)."""
    host = hosts(lab)[1]
    root = lab.host_dir(host.id) / "root"
    saved = tmp_path / "saved"
    saved.mkdir()
    for suffix in ("", ".pub"):
        shutil.copy2(root / f"{KEY}{suffix}", saved / f"key{suffix}")
    fresh = tmp_path / "fresh"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(fresh)], check=True)
    try:
        for suffix in ("", ".pub"):
            shutil.copy2(f"{fresh}{suffix}", root / f"{KEY}{suffix}")
        yield host.id
    finally:
        for suffix in ("", ".pub"):
            shutil.copy2(saved / f"key{suffix}", root / f"{KEY}{suffix}")


def test_a_changed_host_key_is_refused_everywhere(
    lab: Lab, tmp_path: Path, plan: Path, rekeyed: str
) -> None:
    home = tmp_path / "home"
    inventory = ("--inventory", str(lab.inventory))

    checked = lpdeploy(home, "preflight", str(plan), *inventory, "--json")
    assert checked.returncode == 1, checked.stderr
    failing = {
        c["id"]: [k for k in c["checks"] if not k["ok"]]
        for c in json.loads(checked.stdout)["centres"]
    }
    assert [k["name"] for k in failing.pop(rekeyed)] == ["hostkey"]
    assert failing == {"centre-01": [], "centre-03": []}

    trusted = lpdeploy(home, "trust", str(lab.inventory), "--yes", "--json")
    assert trusted.returncode == 1
    states = {h["host"]: h["state"] for h in json.loads(trusted.stdout)["hosts"]}
    assert states == {"centre-01": "pinned", "centre-02": "changed", "centre-03": "pinned"}
    assert not (home / "known_hosts").exists(), "trust pinned a changed key"

    applied = lpdeploy(home, "apply", str(plan), *inventory, "--json")
    assert applied.returncode == 1, applied.stderr
    outcomes = {c["centre"]: c for c in json.loads(applied.stdout)["centres"]}
    assert outcomes[rekeyed]["outcome"] == "not-run"
    assert outcomes[rekeyed]["message"].startswith("preflight: hostkey: HOST KEY CHANGED")
    assert {outcomes[c]["outcome"] for c in ("centre-01", "centre-03")} <= {"ok", "changed"}


def test_trust_pins_an_inventory_that_pins_nothing(lab: Lab, tmp_path: Path, plan: Path) -> None:
    home = tmp_path / "home"
    bare = tmp_path / "inventory.yml"
    text = lab.inventory.read_text()
    bare.write_text(text.replace(f"-o UserKnownHostsFile={lab.known_hosts} ", ""))
    assert str(lab.known_hosts) not in bare.read_text()

    before = lpdeploy(home, "preflight", str(plan), "--inventory", str(bare), "--json")
    assert before.returncode == 1
    details = [k["detail"] for c in json.loads(before.stdout)["centres"] for k in c["checks"]
               if k["name"] == "hostkey"]  # fmt: skip
    assert len(details) == 3 and all(d.startswith("not pinned") for d in details), details

    trusted = lpdeploy(home, "trust", str(bare), "--yes", "--json")
    assert trusted.returncode == 0, trusted.stdout
    assert {h["state"] for h in json.loads(trusted.stdout)["hosts"]} == {"pinned-now"}
    pinned = (home / "known_hosts").read_text()
    assert sorted(pinned.splitlines()) == sorted(lab.known_hosts.read_text().splitlines())

    after = lpdeploy(home, "preflight", str(plan), "--inventory", str(bare), "--json")
    assert after.returncode == 0, after.stdout
