"""The field kit on the lab (issue 8, item 1): built on the controller, verified, refused
when tampered with (by `kit verify` and by `apply --kit`), deployed from, and its wheels
install lpdeploy with no package index."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from lpdeploy.lab.fleet import Lab

REPO = Path(__file__).parents[2]
PROFILE = REPO / "tests" / "fixtures" / "profiles" / "lab3.yaml"
DEMO_KEY = REPO / "bundles" / "keys" / "lpdeploy-demo.pub"


def lpdeploy(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LPDEPLOY_HOME": str(home), "NO_COLOR": "1"}
    return subprocess.run(
        [sys.executable, "-m", "lpdeploy", *args], capture_output=True, text=True, env=env,
        stdin=subprocess.DEVNULL, timeout=1800, check=False,
    )  # fmt: skip


def kit_inputs(home: Path, tmp_path: Path) -> tuple[Path, tuple[str, ...]]:
    """The lab3 plan, and the kit build options that sign with a new key `kit`."""
    plan = tmp_path / "plan.json"
    assert lpdeploy(home, "plan", str(PROFILE), "--out", str(plan)).returncode == 0
    made = lpdeploy(home, "keys", "generate", "--out", str(tmp_path), "--name", "kit")
    assert made.returncode == 0, made.stderr
    return plan, ("--sign-key", str(tmp_path / "kit.key"), "--trusted-key", str(DEMO_KEY))


def test_a_kit_is_built_verified_refused_when_tampered_and_deployed(
    lab: Lab, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    plan, sign = kit_inputs(home, tmp_path)
    kit = tmp_path / "usb" / "kit"
    built = lpdeploy(home, "kit", "build", str(plan), "--out", str(kit), *sign, "--json")
    assert built.returncode == 0, built.stderr
    document = json.loads(built.stdout)
    assert document["bytes_written"] == document["bytes"] > 0
    assert any((kit / "wheels").glob("lpdeploy-*.whl"))
    keys = ("--trusted-key", str(tmp_path / "kit.pub"))
    checked = lpdeploy(home, "kit", "verify", str(kit), *keys, "--json")
    assert checked.returncode == 0, checked.stdout
    assert json.loads(checked.stdout)["signature"].startswith("valid")

    zim = next((kit / "bundles").rglob("*.zim"))
    original = zim.read_bytes()
    zim.write_bytes(original[:100] + bytes([original[100] ^ 1]) + original[101:])
    refused = lpdeploy(home, "kit", "verify", str(kit), *keys, "--json")
    assert refused.returncode == 1
    assert [p["path"] for p in json.loads(refused.stdout)["problems"]] == [
        zim.relative_to(kit).as_posix()
    ]
    apply_args = ("apply", str(kit / "plan.json"), "--kit", str(kit), *keys,
                  "--trusted-key", str(DEMO_KEY), "--inventory", str(lab.inventory))  # fmt: skip
    stopped = lpdeploy(home, *apply_args)
    assert stopped.returncode == 1
    assert "refused, nothing was deployed" in stopped.stderr
    with sqlite3.connect(home / "journal.sqlite") as db:
        kinds = [row[0] for row in db.execute("SELECT kind FROM runs")]
    assert kinds == ["kit"], "apply went on with a tampered kit"
    zim.write_bytes(original)

    applied = lpdeploy(home, *apply_args, "--json")
    assert applied.returncode == 0, applied.stderr
    ready = lpdeploy(home, "verify", str(plan), "--inventory", str(lab.inventory), "--json")
    assert ready.returncode == 0, ready.stdout

    venv = tmp_path / "laptop"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    laptop = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    installed = subprocess.run(
        [str(venv / "bin" / "pip"), "install", "--quiet", "--no-index", "--find-links",
         str(kit / "wheels"), "lpdeploy"],
        capture_output=True, text=True, check=False, env=laptop,
    )  # fmt: skip
    assert installed.returncode == 0, installed.stderr
    version = subprocess.run([str(venv / "bin" / "lpdeploy"), "--help"], capture_output=True,
                             text=True, check=False, env=laptop)  # fmt: skip
    assert version.returncode == 0 and "apply" in version.stdout
