"""Verify on applied labs of 5 and 20 servers, against one `ansible -m ping` round in the
same run (target <= 2.0x), and `verify --deep` per GB of bundles against `sha256sum` of the
same files on the servers themselves. Each centre also gets a 100 MB bundle, built and
signed here, so that the cost of --deep per GB stands out from the fixed costs.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from lpdeploy.bundle.build import build_bundle
from lpdeploy.bundle.keys import generate_keys
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
hardware: nuc-512g
centres:
"""


def lpdeploy(*args: str, check: bool = True) -> float:
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "lpdeploy", *args], check=check, stdout=subprocess.DEVNULL
    )
    return time.perf_counter() - start


BIG_MB = 100
REPEAT = 3
"""verify and verify --deep: the best of this many runs."""


def big_catalog(home: Path) -> tuple[Path, list[str]]:
    """The repo's bundles plus one of BIG_MB, signed with a key made here."""
    catalog = home / "catalog"
    shutil.copytree(REPO / "bundles", catalog, symlinks=True, ignore=shutil.ignore_patterns("src"))
    private, public, _ = generate_keys(home / "keys", "bench")
    source = home / "big"
    rng = random.Random(1)
    for index in range(BIG_MB):
        path = source / "content" / f"part-{index // 10}" / f"video-{index:03d}.bin"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(rng.randbytes(10**6))
    (source / "bundle.yaml").write_text(
        "id: big-course\nversion: '1'\ntitle: Big\nkind: media\nlanguages: [fr]\nlicence: CC0\n"
    )
    build_bundle(source, catalog, private)
    keys = [str(public), str(REPO / "bundles" / "keys" / "lpdeploy-demo.pub")]
    return catalog, [arg for key in keys for arg in ("--trusted-key", key)]


def measure(lab: Lab, home: Path, count: int, catalog: Path, trust: list[str]) -> dict[str, float]:
    names = [f"centre-{i:02d}" for i in range(1, count + 1)]
    profile = home / f"profile-{count}.yaml"
    profile.write_text(PROFILE + "".join(f"  - {{id: {n}, learners: 40}}\n" for n in names))
    plan = build_plan(load_profile(profile), load_catalog(catalog))
    plan_path = home / f"plan-{count}.json"
    write_atomic(plan_path, canonical_json(plan))
    state = lab.up(names)
    inventory = str(lab.inventory)
    where = ["--inventory", inventory, "--catalog", str(catalog), "--json"]
    lpdeploy("apply", str(plan_path), *where, *trust)
    verify = min(lpdeploy("verify", str(plan_path), *where) for _ in range(REPEAT))
    deep = min(lpdeploy("verify", str(plan_path), *where, "--deep") for _ in range(REPEAT))
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
            catalog, trust = big_catalog(Path(tmp))
            for count in SIZES:
                runs.append(measure(lab, Path(tmp), count, catalog, trust))
                run = runs[-1]
                print(
                    f"{count:>3} servers: verify {run['verify_s']} s, ansible -m ping "
                    f"{run['ping_s']} s: {run['verify_vs_ping']}x (target <= 2.0); "
                    f"--deep {run['deep_s']} s"
                )
        finally:
            lab.down()
    for run in runs:
        print(
            f"{run['servers']:>3} servers, {run['bundle_gb']} GB of bundles: --deep adds "
            f"{run['deep_extra_s_per_gb']} s per GB; sha256sum on the servers "
            f"{run['sha256sum_s_per_gb']} s per GB"
        )
    print(json.dumps({"bench": "verify_scale", "runs": runs}))


if __name__ == "__main__":
    main()
