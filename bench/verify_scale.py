"""Verify on applied labs of 5 and 20 servers, against one `ansible -m ping` round in the
same run (target <= 2.0x), and `verify --deep` per GB of bundles against `sha256sum` of the
same files on the servers themselves.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from lpdeploy.catalog import load_catalog
from lpdeploy.lab.fleet import Lab
from lpdeploy.output import canonical_json, write_atomic
from lpdeploy.plan import build_plan
from lpdeploy.profile import load_profile
from lpdeploy.runner.spec import build_spec

REPO = Path(__file__).resolve().parent.parent
SIZES = tuple(int(a) for a in sys.argv[1:]) or (5, 20)
PROFILE = """\
name: bench-verify
region: {country: TD, timezone: Africa/Ndjamena}
languages: [fr, ar, en]
connectivity: offline
centres:
"""


def lpdeploy(*args: str, check: bool = True) -> float:
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "lpdeploy", *args], check=check, stdout=subprocess.DEVNULL
    )
    return time.perf_counter() - start


def measure(lab: Lab, home: Path, count: int) -> dict[str, float]:
    names = [f"centre-{i:02d}" for i in range(1, count + 1)]
    profile = home / f"profile-{count}.yaml"
    profile.write_text(PROFILE + "".join(f"  - {{id: {n}, learners: 40}}\n" for n in names))
    plan = build_plan(load_profile(profile), load_catalog(REPO / "bundles"))
    plan_path = home / f"plan-{count}.json"
    write_atomic(plan_path, canonical_json(plan))
    state = lab.up(names)
    inventory = str(lab.inventory)
    lpdeploy("apply", str(plan_path), "--inventory", inventory, "--json")
    verify = lpdeploy("verify", str(plan_path), "--inventory", inventory, "--json")
    deep = lpdeploy("verify", str(plan_path), "--inventory", inventory, "--deep", "--json")
    spec = build_spec(home / "ping", lab.inventory)
    start = time.perf_counter()
    subprocess.run([str(Path(sys.executable).parent / "ansible"), "-i", inventory, "all", "-m",
                    "ansible.builtin.ping"], check=True, stdout=subprocess.DEVNULL,
                   env=os.environ | spec.envvars)  # fmt: skip
    ping = time.perf_counter() - start
    command = (
        "find -L /srv/lpdeploy/bundles/*/current -type f -print0 | xargs -0 sha256sum >/dev/null"
    )
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=count) as pool:
        list(
            pool.map(lambda h: subprocess.run(lab.ssh_command(h, command), check=True), state.hosts)
        )
    sums = time.perf_counter() - start
    gb = sum(c.bytes_total for c in plan.centres) / 1e9
    return {
        "servers": count,
        "verify_s": round(verify, 2),
        "ping_s": round(ping, 2),
        "verify_vs_ping": round(verify / ping, 2),
        "deep_s": round(deep, 2),
        "bundle_gb": round(gb, 4),
        "deep_extra_s_per_gb": round((deep - verify) / gb, 1),
        "sha256sum_s_per_gb": round(sums / gb, 1),
    }


def main() -> None:
    lab = Lab("bverify")
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["LPDEPLOY_HOME"] = tmp
        try:
            lab.down()
            for count in SIZES:
                runs.append(measure(lab, Path(tmp), count))
                run = runs[-1]
                print(
                    f"{count:>3} servers: verify {run['verify_s']} s, ansible -m ping "
                    f"{run['ping_s']} s: {run['verify_vs_ping']}x (target <= 2.0); "
                    f"--deep {run['deep_s']} s"
                )
        finally:
            lab.down()
    print("--deep per GB of bundles is dominated by fixed costs at these sizes:",
          [(r["deep_extra_s_per_gb"], r["sha256sum_s_per_gb"]) for r in runs])  # fmt: skip
    print(json.dumps({"bench": "verify_scale", "runs": runs}))


if __name__ == "__main__":
    main()
