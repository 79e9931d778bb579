"""Bundle push of a 200 MB, 2,000-file bundle to one lab server, against plain `rsync -a`
to the same server, in one run: first push, then a push when nothing changed. With
`--mixed-mb N`, the bundle is bench/content.py's mixed-en of N MB instead (issue 19 asks
for 2,048: files of 4 KiB to 160 MiB).

lpdeploy's push is the bundle_loader role: rsync into staging, every file's sha256 checked
on the server, the version renamed into place and `current` switched. Two figures: the
whole run of the role through ansible-runner (its start-up included), and the delivery step
inside it (from the start of the push task to the end of check-and-activate, from the run's
events), which is what a bundle adds to an apply. Beside them, `rsync -a` with AES-GCM, the
cipher the push picks here.

With `--rounds N`, N rounds on the same server, each measuring the three side by side, each
first push into a folder that is not there, in an order that turns with each round; each
round prints its figures (and the whole machine's CPU time over each first push).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import content
import yaml
from machine import Used, clear_page_cache, cpu_time, timed

from lpdeploy.bundle.build import build_bundle
from lpdeploy.catalog import load_catalog
from lpdeploy.lab.fleet import Lab
from lpdeploy.output import canonical_json, write_atomic
from lpdeploy.plan import build_plan
from lpdeploy.profile import load_profile
from lpdeploy.runner.run import run_to_end
from lpdeploy.runner.spec import RunSpec, build_spec

REPO = Path(__file__).resolve().parent.parent
FILES = 2000
SIZE = 200 * 10**6
PROFILE = """\
name: bench-push
region: {country: TD}
languages: [fr]
connectivity: offline
hardware: nuc-512g
centres:
  - {id: push-01, learners: 40}
"""


def make_bundle(folder: Path) -> Path:
    rng = random.Random(1)
    source = folder / "src"
    for index in range(FILES):
        path = source / "content" / f"part-{index // 100:02d}" / f"page-{index:04d}.bin"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(rng.randbytes(SIZE // FILES))
    (source / "bundle.yaml").write_text(
        "id: big-course\nversion: '1'\ntitle: Big\nkind: media\nlanguages: [fr]\nlicence: CC0\n"
    )
    return build_bundle(source, folder / "built").path


PUSH = "Push missing bundles into staging with rsync"
ACTIVATE = "Check pushed bundles, put them in place and remove unplanned ones"


def delivery(events: list[dict[str, object]]) -> tuple[float, float]:
    """Seconds from the push task's start to the end of check-and-activate, and of them
    the push task's (the rest is Ansible's next task start, and the check and activation)."""
    start = pushed = end = None
    for event in events:
        data = event.get("event_data") or {}
        assert isinstance(data, dict)
        when = datetime.fromisoformat(str(event.get("created")))
        if event.get("event") == "playbook_on_task_start" and data.get("task") == PUSH:
            start = when
        if event.get("event") == "runner_on_ok" and data.get("task") == PUSH:
            pushed = when
        if event.get("event") == "runner_on_ok" and data.get("task") == ACTIVATE:
            end = when
    assert start and end, "the run has no push and activate"
    pushed = pushed or start  # a push skipped: nothing was missing
    return (end - start).total_seconds(), (pushed - start).total_seconds()


def fresh(remove: list[str], bundle: Path) -> None:
    """The state each first push starts from: its target folder not there, the server's
    disk trimmed (the lab's disk is a sparse image: what a removal leaves allocated makes
    the next writes cheaper or dearer), and the page cache holding the bundle and nothing
    that the other pushes wrote."""
    subprocess.run(remove, check=True)
    clear_page_cache(bundle)


def timed_run(spec: RunSpec) -> tuple[float, float, float, Used]:
    """(the whole run, its delivery step, the step's push task) in seconds, and the
    machine's CPU time over the run."""
    os.sync()  # each step starts with no other step's writes still going to the disk
    begin = time.perf_counter()
    with cpu_time() as used:
        events = run_to_end(spec)
    return time.perf_counter() - begin, *delivery(events), used


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mixed-mb", type=int, default=0)
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    lab = Lab("bpush")
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        os.environ["LPDEPLOY_HOME"] = str(home)
        profile = home / "profile.yaml"
        profile.write_text(PROFILE)
        plan = build_plan(load_profile(profile), load_catalog(REPO / "bundles"))
        write_atomic(home / "plan.json", canonical_json(plan))
        if args.mixed_mb:
            catalog = content.cache_dir()
            key = content.signing_key(catalog)
            bundle = content.ensure("mixed-en", args.mixed_mb, catalog, key)
        else:
            bundle = make_bundle(home / "bundle")
        files = sum(1 for p in (bundle / "content").rglob("*") if p.is_file())
        size = sum(p.stat().st_size for p in (bundle / "content").rglob("*") if p.is_file())
        try:
            lab.down()
            state = lab.up(["push-01"])
            host = state.hosts[0]
            apply = [sys.executable, "-m", "lpdeploy", "apply", str(home / "plan.json"),
                     "--inventory", str(lab.inventory), "--json"]  # fmt: skip
            subprocess.run(apply, check=True, stdout=subprocess.DEVNULL)
            ssh = " ".join(lab.ssh_command(host)[:-1])
            play = home / "push.yml"
            bundles = [{"id": "big-course", "version": "1", "kind": "media", "source": str(bundle)}]
            play.write_text(yaml.safe_dump([{"name": "Push", "hosts": "all", "gather_facts": False,
                                             "vars": {"lpdeploy_bundles": bundles},
                                             "roles": ["bundle_loader"]}]))  # fmt: skip
            spec = build_spec(home / "push", lab.inventory, playbook=play)
            roles = {
                "ANSIBLE_ROLES_PATH": str(REPO / "playbooks" / "roles"),
                "ANSIBLE_LIBRARY": str(REPO / "playbooks" / "library"),  # beside site.yml
            }
            spec = replace(spec, envvars=spec.envvars | roles)

            def rsync(target: str, *cipher: str) -> dict[str, float]:
                command = ["rsync", "-a", "-e", " ".join([ssh, *cipher]), f"{bundle}/",
                           f"root@{host.address}:{target}/"]  # fmt: skip
                first, used = timed(command)
                again, _ = timed(command)
                return {"s": first, "nochange_s": again, "cpu_busy_s": used.busy,
                        "cpu_idle_s": used.idle}  # fmt: skip

            def lpdeploy() -> dict[str, float]:
                run, step, push, used = timed_run(spec)
                _, again, _, _ = timed_run(spec)
                return {"run_s": run, "s": step, "push_task_s": push, "nochange_s": again,
                        "cpu_busy_s": used.busy, "cpu_idle_s": used.idle}  # fmt: skip

            # Each round measures the three side by side, in an order that turns with each
            # round, each first push from the same state (fresh()), so that no figure pays
            # for another's leftovers, or always has the fresh server.
            folders = {"rsync": "/srv/rsync-baseline", "rsync_gcm": "/srv/rsync-gcm",
                       "step": "/srv/lpdeploy/bundles/big-course"}  # fmt: skip
            steps = {
                "rsync": lambda: rsync(folders["rsync"]),
                # The cipher lpdeploy's push picks when both ends have AES (both do here):
                # what of the push's speed is the cipher's.
                "rsync_gcm": lambda: rsync(folders["rsync_gcm"], "-c", "aes128-gcm@openssh.com"),
                "step": lpdeploy,
            }
            order = list(steps)
            for number in range(1, args.rounds + 1):
                measured: dict[str, dict[str, float]] = {}
                for name in order:
                    remove = f"rm -rf {folders[name]} && sync && fstrim /srv"
                    fresh(lab.ssh_command(host, remove), bundle)
                    measured[name] = steps[name]()
                report(number, order, files, size, measured)
                order = order[1:] + order[:1]
        finally:
            lab.down()


def report(
    number: int, order: list[str], files: int, size: int, measured: dict[str, dict[str, float]]
) -> None:
    rsync, gcm, step = measured["rsync"], measured["rsync_gcm"], measured["step"]
    figures = {
        "bench": "bundle_push",
        "round": number,
        "order": order,
        "files": files,
        "bytes": size,
        "rsync_s": round(rsync["s"], 2),
        "rsync_gcm_s": round(gcm["s"], 2),
        "run_s": round(step["run_s"], 2),
        "run_vs_rsync": round(rsync["s"] / step["run_s"], 2),
        "step_s": round(step["s"], 2),
        "step_vs_rsync": round(rsync["s"] / step["s"], 2),
        "step_vs_rsync_gcm": round(gcm["s"] / step["s"], 2),
        "step_push_task_s": round(step["push_task_s"], 2),
        "rsync_nochange_s": round(rsync["nochange_s"], 2),
        "step_nochange_s": round(step["nochange_s"], 2),
        "step_vs_rsync_nochange": round(rsync["nochange_s"] / step["nochange_s"], 2),
        # CPU-seconds of the whole machine (controller and server) over each first push
        # (the step's: over its whole run)
        "cpu_busy_s": {name: round(m["cpu_busy_s"], 1) for name, m in measured.items()},
        "cpu_idle_s": {name: round(m["cpu_idle_s"], 1) for name, m in measured.items()},
    }
    print(f"round {number} ({', '.join(order)}): rsync -a {rsync['s']:.1f} s, delivery step "
          f"{step['s']:.1f} s: {figures['step_vs_rsync']}x rsync's speed (target >= 0.9); "
          f"whole run {step['run_s']:.1f} s: {figures['run_vs_rsync']}x")  # fmt: skip
    print(
        f"  no change: rsync -a {rsync['nochange_s']:.2f} s, step {step['nochange_s']:.2f} s: "
        f"{figures['step_vs_rsync_nochange']}x (target >= 0.83: at most 1.2x rsync's time)"
    )
    print(f"  rsync -a with AES-GCM (the push's cipher here): {gcm['s']:.1f} s; the step is "
          f"{figures['step_vs_rsync_gcm']}x its speed")  # fmt: skip
    print(f"  CPU busy (s): {figures['cpu_busy_s']}; idle: {figures['cpu_idle_s']}")
    print(json.dumps(figures), flush=True)


if __name__ == "__main__":
    main()
