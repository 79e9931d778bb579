"""Bundle push of a 200 MB, 2,000-file bundle to one lab server, against plain `rsync -a`
to the same server, in one run: first push, then a push when nothing changed. With
`--mixed-mb N`, the bundle is bench/content.py's mixed-en of N MB instead (issue 19 asks
for 2,048: files of 4 KiB to 160 MiB).

lpdeploy's push is the bundle_loader role: rsync into staging, every file's sha256 checked
on the server, the version renamed into place and `current` switched. Two figures: the
whole ansible-playbook run of the role (its start-up included), and the delivery step inside
it (from the start of the push task to the end of check-and-activate, from the run's events),
which is what a bundle adds to an apply.
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


def timed_run(spec: RunSpec) -> tuple[float, float, float]:
    """(the whole run, its delivery step, the step's push task) in seconds."""
    os.sync()  # each step starts with no other step's writes still going to the disk
    begin = time.perf_counter()
    events = run_to_end(spec)
    return time.perf_counter() - begin, *delivery(events)


def timed(command: list[str], env: dict[str, str]) -> float:
    os.sync()
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, env=env)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mixed-mb", type=int, default=0)
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
            address = state.hosts[0].address
            apply = [sys.executable, "-m", "lpdeploy", "apply", str(home / "plan.json"),
                     "--inventory", str(lab.inventory), "--json"]  # fmt: skip
            subprocess.run(apply, check=True, stdout=subprocess.DEVNULL)
            ssh = " ".join(lab.ssh_command(state.hosts[0])[:-1])
            rsync = ["rsync", "-a", "-e", ssh, f"{bundle}/", f"root@{address}:/srv/rsync-baseline/"]
            env = dict(os.environ)
            rsync_first = timed(rsync, env)
            rsync_again = timed(rsync, env)
            # The same with the cipher lpdeploy's push picks when both ends have AES (both
            # do here): what of the push's speed is the cipher's.
            gcm = ["rsync", "-a", "-e", f"{ssh} -c aes128-gcm@openssh.com", f"{bundle}/",
                   f"root@{address}:/srv/rsync-gcm/"]  # fmt: skip
            rsync_gcm = timed(gcm, env)
            play = home / "push.yml"
            bundles = [{"id": "big-course", "version": "1", "kind": "media", "source": str(bundle)}]
            play.write_text(yaml.safe_dump([{"name": "Push", "hosts": "all", "gather_facts": False,
                                             "vars": {"lpdeploy_bundles": bundles},
                                             "roles": ["bundle_loader"]}]))  # fmt: skip
            spec = build_spec(home / "push", lab.inventory, playbook=play)
            env = (
                os.environ
                | spec.envvars
                | {
                    "ANSIBLE_ROLES_PATH": str(REPO / "playbooks" / "roles"),
                    "ANSIBLE_LIBRARY": str(REPO / "playbooks" / "library"),  # beside site.yml
                }
            )
            command = [
                str(Path(sys.executable).parent / "ansible-playbook"),
                "-i",
                str(lab.inventory),
                str(play),
            ]
            push_first = timed(command, env)
            push_again = timed(command, env)
            roles = {k: env[k] for k in ("ANSIBLE_ROLES_PATH", "ANSIBLE_LIBRARY")}
            spec = replace(spec, private_data_dir=home / "push-steps", playbook=play,
                           envvars=spec.envvars | roles)  # fmt: skip
            folder = "/srv/lpdeploy/bundles/big-course"
            subprocess.run(lab.ssh_command(state.hosts[0], "rm", "-rf", folder), check=True)
            run_first, step_first, push_task = timed_run(spec)
            _, step_again, _ = timed_run(spec)
        finally:
            lab.down()
    figures = {
        "bench": "bundle_push",
        "files": files,
        "bytes": size,
        "rsync_s": round(rsync_first, 2),
        "rsync_gcm_s": round(rsync_gcm, 2),
        "push_s": round(push_first, 2),
        "push_vs_rsync": round(rsync_first / push_first, 2),
        "rsync_nochange_s": round(rsync_again, 2),
        "push_nochange_s": round(push_again, 2),
        "push_vs_rsync_nochange": round(rsync_again / push_again, 2),
        "run_s": round(run_first, 2),
        "step_s": round(step_first, 2),
        "step_vs_rsync": round(rsync_first / step_first, 2),
        "step_vs_rsync_gcm": round(rsync_gcm / step_first, 2),
        "step_push_task_s": round(push_task, 2),
        "step_nochange_s": round(step_again, 2),
        "step_vs_rsync_nochange": round(rsync_again / step_again, 2),
    }
    print(f"first push: rsync -a {rsync_first:.1f} s, lpdeploy {push_first:.1f} s: "
          f"{figures['push_vs_rsync']}x rsync's speed (target >= 0.9)")  # fmt: skip
    print(f"no change:  rsync -a {rsync_again:.1f} s, lpdeploy {push_again:.1f} s: "
          f"{figures['push_vs_rsync_nochange']}x")  # fmt: skip
    print(f"delivery step inside the run: {step_first:.1f} s: {figures['step_vs_rsync']}x "
          f"rsync's speed (its push task {push_task:.1f} s); no change {step_again:.1f} s: "
          f"{figures['step_vs_rsync_nochange']}x")  # fmt: skip
    print(f"rsync -a with AES-GCM (the push's cipher here): {rsync_gcm:.1f} s; the step is "
          f"{figures['step_vs_rsync_gcm']}x its speed")  # fmt: skip
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
