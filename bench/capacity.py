"""The capacity model's constants, measured: lpdeploy on N lab servers, directly and through
1 or 2 hubs, for a first apply, a no-change apply and a verify.

For each run: wall time; CPU-seconds of this machine (lpdeploy and every process it waited
for: Ansible, ssh, rsync) and of each hub (its container's cgroup, cpu.stat); bytes sent on
each link (the lab's veth counters: this machine to a hub or a direct centre, a hub to its
centres). Then the per-centre costs (lpdeploy/plan/capacity.py's APPLY_CPU_S and
RELAY_CPU_S), the model's error against each run it was not fitted on, and the projected
wall time of 3,400 centres through 1, 5 and 10 hubs.

  sudo .venv/bin/python bench/capacity.py [--runs 5:0,20:0,20:1,38:0,38:2]

(servers:hubs; the constants are fitted on the runs smaller than the largest, and checked
against the largest.)

Prints one JSON line per run and a summary. Needs root (the lab); one lab at a time.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from lpdeploy.journal import Journal
from lpdeploy.lab.fleet import Lab
from lpdeploy.lab.state import HostState
from lpdeploy.plan.capacity import CentreLoad, estimate
from lpdeploy.profile.model import Profile

REPO = Path(__file__).resolve().parent.parent
DEMO_KEY = REPO / "bundles" / "keys" / "lpdeploy-demo.pub"
LAB = "cap"
PROFILE = """\
name: bench-capacity
region: {{country: TD, timezone: Africa/Ndjamena}}
languages: [fr, ar, en]
connectivity: offline
hardware: nuc-512g
wave_size: 40
{hubs}centres:
{centres}"""


@dataclass
class Run:
    servers: int
    hubs: int
    step: str
    wall_s: float
    controller_cpu_s: float
    hub_cpu_s: dict[str, float]
    centres_cpu_s: float
    link_bytes: dict[str, int] = field(default_factory=dict)

    @property
    def per_centre(self) -> dict[str, float]:
        hubs = sum(self.hub_cpu_s.values())
        return {
            "controller_cpu_s": round(self.controller_cpu_s / self.servers, 3),
            "hub_cpu_s": round(hubs / self.servers, 3),
            "centre_cpu_s": round(self.centres_cpu_s / self.servers, 3),
            "bytes": round(sum(self.link_bytes.values()) / self.servers),
        }


def available() -> int:
    """MemAvailable, bytes."""
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) * 1024
    raise SystemExit("no MemAvailable in /proc/meminfo")


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def cgroup_cpu(host: str) -> float:
    stat = Path(f"/sys/fs/cgroup/unified/lpdeploy-{LAB}/{host}/cpu.stat")
    for line in stat.read_text().splitlines():
        if line.startswith("usage_usec"):
            return int(line.split()[1]) / 1e6
    raise SystemExit(f"{stat}: no usage_usec")


def tx(host: HostState) -> int:
    return int(Path(f"/sys/class/net/{host.veth}/statistics/tx_bytes").read_text())


def measure(
    lab: Lab, servers: int, hubs: int, step: str, args: list[str], env: dict[str, str]
) -> Run:
    state = lab.status()
    assert state is not None
    hub_names = list(state.hubs)
    centres = [h.id for h in state.hosts if h.id not in hub_names]
    cpu0, hub0 = children_cpu(), {h: cgroup_cpu(h) for h in hub_names}
    centres0 = sum(cgroup_cpu(c) for c in centres)
    link0 = {h.id: tx(h) for h in state.hosts}
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "lpdeploy", *args], env=env, check=False,
                          stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)  # fmt: skip
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{step} on {servers} servers, {hubs} hubs: exit {done.returncode}")
    return Run(
        servers, hubs, step, round(wall, 1), round(children_cpu() - cpu0, 1),
        {h: round(cgroup_cpu(h) - hub0[h], 1) for h in hub_names},
        round(sum(cgroup_cpu(c) for c in centres) - centres0, 1),
        {h.id: tx(h) - link0[h.id] for h in state.hosts},
    )  # fmt: skip


def one_lab(servers: int, hubs: int, home: Path) -> tuple[list[Run], float]:
    """The three runs on a fresh lab of this shape, and how long its canary wave took."""
    names = [f"centre-{i:02d}" for i in range(1, servers + 1)]
    share = -(-servers // hubs) if hubs else 0
    behind = {f"hub-{n + 1}": names[n * share : (n + 1) * share] for n in range(hubs)}
    hub_text = "".join(
        f"  - id: {hub}\n    centres: [{', '.join(centres)}]\n" for hub, centres in behind.items()
    )
    profile = home / f"profile-{servers}-{hubs}.yaml"
    profile.write_text(PROFILE.format(
        hubs=f"hubs:\n{hub_text}" if hubs else "",
        centres="".join(f"  - {{id: {n}, learners: 40}}\n" for n in names),
    ))  # fmt: skip
    env = {**os.environ, "LPDEPLOY_HOME": str(home), "NO_COLOR": "1"}
    plan = home / f"plan-{servers}-{hubs}.json"

    def lpdeploy(*args: str) -> None:
        subprocess.run([sys.executable, "-m", "lpdeploy", *args], env=env, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip

    lpdeploy("plan", str(profile), "--out", str(plan))
    kit = home / f"kit-{servers}-{hubs}"
    lpdeploy("kit", "build", str(plan), "--out", str(kit), "--sign-key", str(home / "kit.key"),
             "--trusted-key", str(DEMO_KEY))  # fmt: skip
    lab = Lab(LAB)
    keys = ["--trusted-key", str(home / "kit.pub"), "--trusted-key", str(DEMO_KEY)]
    common = ["--inventory", str(lab.inventory), *keys]
    try:
        lab.down()
        before = available()
        lab.up(names, hubs=behind)
        time.sleep(10)  # settled: first-boot jobs done
        print(
            f"lab of {servers} centres and {hubs} hubs up: "
            f"{(before - available()) / 2**20:.0f} MiB of memory, "
            f"{(before - available()) / 2**20 / (servers + hubs):.1f} MiB a server",
            flush=True,
        )
        for hub in behind:
            lpdeploy("hub", "prepare", hub, "--kit", str(kit), *common)
        apply = ["apply", str(kit / "plan.json"), "--kit", str(kit), *common, "--json"]
        verify = ["verify", str(plan), "--catalog", str(kit / "bundles"),
                  "--inventory", str(lab.inventory), "--json"]  # fmt: skip
        first = measure(lab, servers, hubs, "first-apply", apply, env)
        journal = Journal(home / "journal.sqlite")
        try:
            run_id = max(r.id for r in journal.runs_of("bench-capacity"))
            wave1 = [t for t in journal.timings(run_id) if t.wave == 1]
        finally:
            journal.close()
        canary = max(t.ended for t in wave1) - min(t.started for t in wave1)
        return [
            first,
            measure(lab, servers, hubs, "noop-apply", apply, env),
            measure(lab, servers, hubs, "verify", verify, env),
        ], canary
    finally:
        lab.down()


@dataclass(frozen=True)
class Fit:
    apply_cpu_s: float
    """This machine's (or a hub's) CPU-seconds per centre it runs Ansible for."""
    relay_cpu_s: float
    """This machine's CPU-seconds per centre a hub runs Ansible for."""
    centre_cpu_s: float
    """A centre's own CPU-seconds (its packages, services)."""
    centre_s: float
    """Wall seconds of the canary wave: one centre alone."""


def fit(firsts: list[Run], canary: dict[tuple[int, int], float]) -> Fit:
    direct = [r for r in firsts if r.hubs == 0]
    relayed = [r for r in firsts if r.hubs > 0]
    return Fit(
        apply_cpu_s=_slope([(r.servers, r.controller_cpu_s) for r in direct]),
        relay_cpu_s=_slope([(r.servers, r.controller_cpu_s) for r in relayed]),
        centre_cpu_s=sum(r.centres_cpu_s for r in firsts) / sum(r.servers for r in firsts),
        centre_s=min(canary.values()),
    )


def _slope(points: list[tuple[int, float]]) -> float:
    """Least squares through the points (cost per centre, beyond a fixed cost); one point:
    cost / centres."""
    if len(points) == 1 or len({x for x, _ in points}) == 1:
        return sum(y for _, y in points) / sum(x for x, _ in points)
    n = len(points)
    mx, my = sum(x for x, _ in points) / n, sum(y for _, y in points) / n
    return sum((x - mx) * (y - my) for x, y in points) / sum((x - mx) ** 2 for x, _ in points)


def lab_wall(run: Run, model: Fit, cores: int) -> float:
    """The model's first apply on the lab, where this machine's cores run everything (this
    machine, the hubs, the centres): a canary of one centre, then the rest at once, each
    wave no shorter than one centre alone."""
    per_centre = model.centre_cpu_s + (
        model.relay_cpu_s + model.apply_cpu_s if run.hubs else model.apply_cpu_s
    )
    rest = run.servers - 1
    return model.centre_s + max(model.centre_s, rest * per_centre / cores)


def projection(hubs: int, kbps: int) -> float:
    """3,400 centres (Cox's Bazar), 2 GB of bundles each, through `hubs`: a canary wave of
    5% (170), then waves of 200."""
    centres = 3400
    profile = Profile.model_validate({
        "name": "cxb", "region": {"country": "BD"}, "languages": ["en"],
        "connectivity": "low-bandwidth", "bandwidth_kbps": kbps,
        "hubs": [{"id": f"h{n}", "centres": ["*"]} for n in range(hubs)],
        "centres": [{"id": "c", "learners": 1}],
    })  # fmt: skip
    bundle = frozenset({("library", "1", 2_000_000_000)})
    loads = [
        CentreLoad(
            f"c{n}", 1 if n < 170 else 2 + (n - 170) // 200, f"h{n % hubs}", 2_000_000_000, bundle
        )
        for n in range(centres)
    ]
    return estimate(profile, loads).seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", default="5:0,20:0,20:1,38:0,38:2", help="servers:hubs,...")
    options = parser.parse_args()
    runs: list[Run] = []
    canary: dict[tuple[int, int], float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        subprocess.run([sys.executable, "-m", "lpdeploy", "keys", "generate", "--out", str(home),
                        "--name", "kit"], check=True, capture_output=True)  # fmt: skip
        for servers, hubs in (map(int, pair.split(":")) for pair in options.runs.split(",")):
            done, canary[(servers, hubs)] = one_lab(servers, hubs, home)
            for run in done:
                runs.append(run)
                print(json.dumps(vars(run) | {"per_centre": run.per_centre}), flush=True)
    firsts = [r for r in runs if r.step == "first-apply"]
    largest = max(r.servers for r in firsts)
    fitted_on = [r for r in firsts if r.servers < largest] or firsts
    model = fit(fitted_on, canary)
    hubs_cpu = [sum(r.hub_cpu_s.values()) / r.servers for r in firsts if r.hubs]
    print(f"fitted on {', '.join(f'{r.servers}:{r.hubs}' for r in fitted_on)}: {model}")
    if hubs_cpu:
        print(
            f"  a hub's CPU-seconds per centre it runs Ansible for: {min(hubs_cpu):.2f}-"
            f"{max(hubs_cpu):.2f} (this machine's, running Ansible: {model.apply_cpu_s:.2f})"
        )
    cores = os.cpu_count() or 2
    for run in firsts:
        wall = lab_wall(run, model, cores)
        held = "" if run in fitted_on else " (not fitted on)"
        print(
            f"  {run.servers} servers, {run.hubs} hubs: measured {run.wall_s:.0f} s, model "
            f"{wall:.0f} s ({100 * (wall - run.wall_s) / run.wall_s:+.0f}%){held}"
        )
    for hubs in (1, 5, 10):
        for kbps in (2_000, 10_000):
            days = projection(hubs, kbps) / 86400
            print(f"3,400 centres through {hubs} hubs, {kbps / 1000:g} Mbit/s links: "
                  f"{days:.1f} days")  # fmt: skip


if __name__ == "__main__":
    main()
