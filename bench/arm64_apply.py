"""The emulation factor: a first `lpdeploy apply` of one arm64 lab server (a Raspberry Pi's
architecture, emulated with qemu-user-static) against the same apply of one native amd64
server, each alone on a fresh lab, with the same bundles. Also each base's build time when
the cache lacks it (run `lab down` and remove /var/cache/lpdeploy/lab/base-* first to
measure that; a warm cache reports 0).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from lpdeploy.lab.base import ensure_base
from lpdeploy.lab.fleet import CACHE, Lab

PROFILE = """\
name: bench-arch
region: {{country: TD, timezone: Africa/Ndjamena}}
languages: [fr, en]
connectivity: offline
centres:
  - {{id: server-01, learners: 40, hardware: {hardware}}}
"""
HARDWARE = {"amd64": "nuc-512g", "arm64": "rpi4-64g"}


def first_apply(arch: str, home: Path) -> tuple[float, float]:
    """Seconds of the base (0 when cached), and of the first apply on a fresh server."""
    started = time.perf_counter()
    ensure_base(CACHE, arch)
    base = time.perf_counter() - started
    profile = home / f"{arch}.yaml"
    profile.write_text(PROFILE.format(hardware=HARDWARE[arch]))
    plan = home / f"{arch}.json"
    lpdeploy("plan", str(profile), "--out", str(plan))
    lab = Lab("bench")
    try:
        lab.down()
        lab.up(["server-01"], arches={"server-01": arch})
        lpdeploy("apply", str(plan), "--inventory", str(lab.inventory), "--json")  # repo built
        lab.down()
        lab.up(["server-01"], arches={"server-01": arch})
        started = time.perf_counter()
        lpdeploy("apply", str(plan), "--inventory", str(lab.inventory), "--json")
        return base, time.perf_counter() - started
    finally:
        lab.down()


def lpdeploy(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "lpdeploy", *args], check=True, stdout=subprocess.DEVNULL)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["LPDEPLOY_HOME"] = tmp
        amd64_base, amd64 = first_apply("amd64", Path(tmp))
        arm64_base, arm64 = first_apply("arm64", Path(tmp))
    figures = {
        "bench": "arm64_apply",
        "amd64_base_s": round(amd64_base, 1),
        "arm64_base_s": round(arm64_base, 1),
        "amd64_apply_s": round(amd64, 1),
        "arm64_apply_s": round(arm64, 1),
        "emulation_factor": round(arm64 / amd64, 2),
    }
    print(f"first apply of one server: arm64 (emulated) {arm64:.1f} s, amd64 {amd64:.1f} s: "
          f"{figures['emulation_factor']}x")  # fmt: skip
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
