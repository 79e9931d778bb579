"""Apply on a lab of 5 servers, against its natural baselines, in one run:

(a) a first `lpdeploy apply` against raw `ansible-playbook` of the same playbook and
    inventory on equally fresh servers (target <= 1.10x), the servers' package repository
    built once before all runs (`kit packages`; its time is reported apart); with more
    than one run, every other run measures raw ansible-playbook first;
(b) a second, no-change `lpdeploy apply` against one `ansible -m ping` round (target <= 1.5x).

Also for (a), raw `ansible-playbook` run as the plan's waves are (one run per wave, the canary
first), on fresh servers again: what lpdeploy adds beyond the canary it must wait for.

    python bench/apply_scale.py [--bundle-mb 1024] [--runs 3]

With `--bundle-mb N`, the catalog is bench/content.py's video-en of N MB alone (issue 19:
1,024), so that each centre gets that bundle; otherwise the repository's catalog.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import content
from machine import Used, clear_page_cache, timed

from lpdeploy.catalog import load_catalog
from lpdeploy.lab.emulation import machine_arch
from lpdeploy.lab.fleet import CGROUP_ROOTS, Lab
from lpdeploy.output import canonical_json, write_atomic
from lpdeploy.plan import build_plan
from lpdeploy.profile import load_profile
from lpdeploy.runner.run import close_connections
from lpdeploy.runner.spec import build_spec, control_path_dir

REPO = Path(__file__).resolve().parent.parent
SERVERS = 5
PROFILE = """\
name: bench-five
region: {country: TD, timezone: Africa/Ndjamena}
languages: [LANGUAGES]
connectivity: offline
hardware: nuc-512g
centres:
"""


USED: dict[str, Used] = {}
"""The machine's CPU time over each measured step, by the step's figure name."""
LAB = "bench"
LAB_CGROUP = CGROUP_ROOTS[1] / f"lpdeploy-{LAB}"
"""The lab's cgroup in the unified hierarchy (lpdeploy/lab/fleet.py): its servers' share."""


def lpdeploy(name: str, *args: str) -> float:
    seconds, USED[name] = timed([sys.executable, "-m", "lpdeploy", *args], servers=LAB_CGROUP)
    return seconds


def ansible(name: str, tool: str, *args: str, env: dict[str, str]) -> float:
    argv = [str(Path(sys.executable).parent / tool), *args]
    seconds, USED[name] = timed(argv, env, LAB_CGROUP)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bundle-mb", type=int, default=0)
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        inputs = Inputs(Path(tmp), args.bundle_mb)
        for number in range(args.runs):
            one_run(inputs, number)


class Inputs:
    """What every run reads, made once: the catalog, the plan, lpdeploy's home with the
    servers' package repository in it (as `kit packages` builds it: an apply finds it
    there, raw ansible-playbook installs from it, and the repository is the controller's
    once, not a server's), and, after the first apply, the centres' inventory it generated,
    which raw ansible-playbook reads."""

    def __init__(self, root: Path, bundle_mb: int) -> None:
        self.bundle_mb = bundle_mb
        self.catalog, self.keys = REPO / "bundles", []
        if bundle_mb:
            cache = content.cache_dir()
            video = content.ensure("video-en", bundle_mb, cache, content.signing_key(cache))
            self.catalog = root / "catalog"
            self.catalog.mkdir()
            subprocess.run(["cp", "-al", str(video), str(self.catalog)], check=True)
            self.keys = ["--catalog", str(self.catalog), "--trusted-key", str(cache / "bench.pub")]
        self.names = [f"centre-{i:02d}" for i in range(1, SERVERS + 1)]
        profile = root / "profile.yaml"
        languages = "en" if bundle_mb else "fr, ar, en"
        centres = "".join(f"  - {{id: {n}, learners: 40}}\n" for n in self.names)
        profile.write_text(PROFILE.replace("LANGUAGES", languages) + centres)
        self.plan = build_plan(load_profile(profile), load_catalog(self.catalog))
        self.plan_path = root / "plan.json"
        write_atomic(self.plan_path, canonical_json(self.plan))
        self.home = root / "home"
        os.environ["LPDEPLOY_HOME"] = str(self.home)
        self.packages = self.home / "packages"
        out = str(self.packages / machine_arch())
        self.package_repo = lpdeploy("package_repo", "kit", "packages", "--out", out)
        self.generated = root / "centres.yml"
        """The first apply's, kept: later runs may measure raw ansible-playbook first."""


def one_run(inputs: Inputs, number: int) -> None:
    """One of each measured step, each on fresh servers. Every other run measures raw
    ansible-playbook before the apply instead of after it, so that what comes first (the
    machine's state after the last step; a slow phase of it) weighs on both sides alike."""
    raw_first = number % 2 == 1
    lab = Lab(LAB)
    plan = inputs.plan
    home = inputs.home
    apply = ("apply", str(inputs.plan_path), "--inventory", str(lab.inventory), "--json",
             *inputs.keys)  # fmt: skip
    spec = build_spec(
        home / f"raw-{number}", [lab.inventory, inputs.generated],
        playbook=REPO / "playbooks" / "site.yml",
    )  # fmt: skip
    env = os.environ | spec.envvars
    inventories = [arg for path in spec.inventory for arg in ("-i", str(path))]
    playbook = str(spec.playbook)

    def fresh_lab() -> None:
        """Equally fresh servers for each measured step, and the page cache holding what
        it reads from this machine, not what the servers of the step before wrote."""
        lab.down()
        clear_page_cache(inputs.catalog, inputs.packages)
        lab.up(inputs.names)

    def raw_at_once() -> float:
        fresh_lab()
        return ansible("ansible_playbook", "ansible-playbook", *inventories, playbook, env=env)

    try:
        raw = raw_at_once() if raw_first else 0.0
        fresh_lab()
        # Each first apply as in a home it never ran in: no inventory read before.
        shutil.rmtree(home / "cache", ignore_errors=True)
        first = lpdeploy("apply", *apply)
        second = lpdeploy("noop_apply", *apply)
        if not inputs.generated.exists():
            runs = sorted((home / "runs").iterdir())
            shutil.copyfile(runs[0] / "centres.yml", inputs.generated)
        ping = ansible("ping", "ansible", *inventories, "lpdeploy_centres",
                       "-m", "ansible.builtin.ping", env=env)  # fmt: skip
        raw = raw if raw_first else raw_at_once()
        fresh_lab()
        waves = sorted({c.wave for c in plan.centres})
        raw_waves = sum(
            ansible(f"wave_{wave}", "ansible-playbook", *inventories, playbook, "--limit",
                    ",".join(c.id for c in plan.centres if c.wave == wave), env=env)
            for wave in waves
        )  # fmt: skip
    finally:
        # The raw runs' shared connections, and their folder (/tmp/lpd-cp-*), as an
        # apply closes its own.
        close_connections(control_path_dir(spec.private_data_dir))
        lab.down()
    repo = inputs.package_repo
    bundle_mb = inputs.bundle_mb
    figures = {
        "bench": "apply_scale",
        "servers": SERVERS,
        "bundle_mb": bundle_mb,
        "package_repo_s": round(repo, 1),
        "order": "raw first" if raw_first else "apply first",
        "apply_s": round(first, 1),
        "ansible_playbook_s": round(raw, 1),
        "apply_vs_playbook": round(first / raw, 2),
        "waves": len(waves),
        "ansible_playbook_by_waves_s": round(raw_waves, 1),
        "apply_vs_playbook_by_waves": round(first / raw_waves, 2),
        "noop_apply_s": round(second, 1),
        "ping_s": round(ping, 1),
        "noop_apply_vs_ping": round(second / ping, 2),
        # CPU-seconds of the whole machine (controller and servers) over each step
        "cpu": {
            name: {
                "busy": round(used.busy, 1),
                "servers": round(used.servers, 1),
                "here": round(used.here, 1),
                "idle": round(used.idle, 1),
                "steal": round(used.steal, 1),
            }
            for name, used in USED.items()
        },
    }
    print(f"(a) first apply {first:.1f} s vs ansible-playbook {raw:.1f} s ({figures['order']}): "
          f"{figures['apply_vs_playbook']}x (target <= 1.10)")  # fmt: skip
    print(f"    the same against ansible-playbook run wave by wave {raw_waves:.1f} s: "
          f"{figures['apply_vs_playbook_by_waves']}x")  # fmt: skip
    for name in ("apply", "ansible_playbook"):
        used = USED[name]
        print(
            f"    {name}: {used.busy:.1f} CPU-s busy (servers {used.servers:.1f}, its "
            f"processes {used.here:.1f}), {used.idle:.1f} idle, {used.steal:.1f} stolen"
        )
    print(f"(b) no-change apply {second:.1f} s vs ansible -m ping {ping:.1f} s: "
          f"{figures['noop_apply_vs_ping']}x (target <= 1.5)")  # fmt: skip
    print(json.dumps(figures), flush=True)


if __name__ == "__main__":
    main()
