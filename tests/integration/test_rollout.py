"""Rollouts that are interrupted (Ctrl-C, SIGTERM, SIGKILL) and resumed, on the real lab.

Each test applies the other of two plans than the one the servers hold, so that the run
has real work (bundles pushed, activated, removed), stops it at a point drawn from a
seeded random, checks from the servers that no bundle was half active at any time,
then resumes and verifies the fleet ready.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from lpdeploy.lab.fleet import Lab
from lpdeploy.runner.spec import control_path_dir

from .test_lab import hosts, ssh

REPO = Path(__file__).parents[2]
PROFILES = [REPO / "tests" / "fixtures" / "profiles" / f"{n}.yaml" for n in ("lab3", "lab3-swap")]
LPDEPLOY = [sys.executable, "-m", "lpdeploy"]

# On a server: every bundle's `current` must point at a complete version (each file of its
# manifest present at its size). Prints one line per bundle that is not.
HALF_ACTIVE = r"""
import json, os, sys
root = "/srv/lpdeploy/bundles"
for bid in sorted(os.listdir(root)) if os.path.isdir(root) else []:
    current = os.path.join(root, bid, "current")
    if bid.startswith(".") or not os.path.lexists(current):
        continue
    try:
        manifest = json.load(open(os.path.join(current, "bundle.json")))
        bad = [f["path"] for f in manifest["files"]
               if os.path.getsize(os.path.join(current, "content", f["path"])) != f["size"]]
    except (OSError, ValueError, KeyError) as exc:
        bad = [str(exc)]
    if bad:
        print(f"{bid}: {bad[0]}")
"""


@pytest.fixture(name="home", scope="module")
def fixture_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("lpdeploy-rollout")


@pytest.fixture(name="plans", scope="module")
def fixture_plans(home: Path) -> list[Path]:
    paths = []
    for profile in PROFILES:
        path = home / f"{profile.stem}.json"
        done = lpdeploy(home, "plan", str(profile), "--out", str(path))
        assert done.returncode == 0, done.stderr
        paths.append(path)
    return paths


def lpdeploy(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*LPDEPLOY, *args], capture_output=True, text=True, env=env(home), timeout=600,
        check=False, stdin=subprocess.DEVNULL,
    )  # fmt: skip


def env(home: Path) -> dict[str, str]:
    return {**os.environ, "LPDEPLOY_HOME": str(home), "NO_COLOR": "1"}


class HalfActiveWatch:
    """Polls every server for half-active bundles while a run goes on."""

    def __init__(self, lab: Lab) -> None:
        self.lab, self.polls = lab, 0
        self.found: list[str] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._poll, daemon=True)

    def __enter__(self) -> HalfActiveWatch:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()

    def _poll(self) -> None:
        while not self.stop.is_set():
            for host in hosts(self.lab):
                done = ssh(self.lab, host, "python3", "-c", f"'{HALF_ACTIVE}'")
                self.found += [f"{host.id}: {line}" for line in done.stdout.splitlines()]
            self.polls += 1


def start_apply(home: Path, lab: Lab, plan: Path, *more: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*LPDEPLOY, "apply", str(plan), "--inventory", str(lab.inventory), "--json", *more],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True,
        env=env(home),
    )  # fmt: skip


def resume_and_verify(home: Path, lab: Lab, plan: Path) -> dict[str, object]:
    done = lpdeploy(home, "apply", str(plan), "--inventory", str(lab.inventory), "--resume",
                    "--json")  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads(done.stdout)
    checked = lpdeploy(home, "verify", str(plan), "--inventory", str(lab.inventory), "--json")
    assert checked.returncode == 0, checked.stdout
    assert json.loads(checked.stdout)["ready"] is True
    return dict(result)


def began(home: Path, apply: subprocess.Popen[str]) -> None:
    """Wait until the apply has begun its run (recorded in the journal): a stop before, while
    it builds its package repository, has nothing to resume (tests/unit/cli/test_entry.py)."""
    before = len(runs(home))
    deadline = time.monotonic() + 120
    while len(runs(home)) == before and apply.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(runs(home)) > before, "the apply never began its run"


def runs(home: Path) -> list[tuple[int, str | None, int | None]]:
    with sqlite3.connect(home / "journal.sqlite") as db:
        return db.execute("SELECT id, outcome, resumes FROM runs WHERE kind='apply'").fetchall()


@pytest.fixture(name="ready", scope="module")
def fixture_ready(lab: Lab, home: Path, plans: list[Path]) -> Iterator[list[int]]:
    """Which plan the servers hold now: a one-item list the tests update."""
    done = lpdeploy(home, "apply", str(plans[0]), "--inventory", str(lab.inventory), "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    yield [0]


@pytest.mark.parametrize(("how", "seed"), [("SIGINT", 1), ("SIGTERM", 3)])
def test_a_stopped_apply_exits_130_and_resume_finishes_it(
    lab: Lab, home: Path, plans: list[Path], ready: list[int], how: str, seed: int
) -> None:
    plan = plans[1 - ready[0]]
    pause = random.Random(seed).uniform(2.0, 20.0)
    with HalfActiveWatch(lab) as watch:
        apply = start_apply(home, lab, plan)
        began(home, apply)
        time.sleep(pause)
        apply.send_signal(getattr(signal, how))
        out, said = apply.communicate(timeout=120)
    ready[0] = 1 - ready[0]  # from here the servers hold some of the new plan
    assert apply.returncode == 130, f"after {pause:.1f} s: {said}"
    result = json.loads(out)
    assert result["stopped"] == "interrupted"
    assert {c["outcome"] for c in result["centres"]} <= {
        "ok", "changed", "interrupted", "not-run", "failed"
    }  # fmt: skip
    assert "--resume" in said
    interrupted = runs(home)[-1]
    assert interrupted[1] == "interrupted"
    resumed = resume_and_verify(home, lab, plan)
    assert resumed["resumes"] == interrupted[0]
    assert watch.polls > 0
    assert watch.found == [], watch.found


def test_a_killed_apply_is_cleaned_up_and_resumed(
    lab: Lab, home: Path, plans: list[Path], ready: list[int]
) -> None:
    plan = plans[1 - ready[0]]
    with HalfActiveWatch(lab) as watch:
        apply = start_apply(home, lab, plan)
        time.sleep(random.Random(4).uniform(4.0, 15.0))
        apply.kill()
        apply.communicate(timeout=30)
        ready[0] = 1 - ready[0]
        done = lpdeploy(home, "apply", str(plan), "--inventory", str(lab.inventory),
                        "--resume", "--json")  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "marked killed" in done.stderr
    killed, resumed = runs(home)[-2:]
    assert killed[1] == "killed"
    assert resumed[2] == killed[0]
    assert watch.found == [], watch.found
    # The killed apply's shared SSH connections were closed by the next, their folder gone.
    left = [d for d in (home / "runs").iterdir() if control_path_dir(d).exists()]
    assert left == [], left
    checked = lpdeploy(home, "verify", str(plan), "--inventory", str(lab.inventory), "--json")
    assert checked.returncode == 0, checked.stdout


def test_a_second_apply_while_one_runs_is_refused(
    lab: Lab, home: Path, plans: list[Path], ready: list[int]
) -> None:
    plan = plans[1 - ready[0]]
    first = start_apply(home, lab, plan)
    try:
        lock = home / "apply.lock"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not (lock.exists() and lock.read_text()):
            time.sleep(0.1)
        second = lpdeploy(home, "apply", str(plan), "--inventory", str(lab.inventory))
        assert second.returncode == 1
        assert f"another apply is running on this journal: pid {first.pid}" in second.stderr
    finally:
        _, said = first.communicate(timeout=600)
    assert first.returncode == 0, said
    ready[0] = 1 - ready[0]
