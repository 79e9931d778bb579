"""Bytes over the controller-hub link for a rollout through a hub, against the bundle bytes.

A lab with a hub and three centres behind it (`lab up --hub`); the plan of
tests/fixtures/profiles/lab3.yaml, whose three centres share their bundles (9 placements of
4 bundles). A kit is built, the hub prepared from it, then `apply --via hub` runs twice (the
second changes nothing). The link is the hub's veth on this machine's bridge: its kernel
counters give every byte each way, SSH and TCP overhead included.

Target (issue 8): each bundle crosses the link once, so the bytes sent to the hub are about
the unique bundle bytes plus the package archive, not once per centre.

Run as root: `python bench/hub_link.py` (prints one JSON document).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from lpdeploy.lab.fleet import Lab

REPO = Path(__file__).resolve().parent.parent
PROFILE = REPO / "tests" / "fixtures" / "profiles" / "lab3.yaml"
DEMO_KEY = REPO / "bundles" / "keys" / "lpdeploy-demo.pub"


def counters(veth: str) -> tuple[int, int]:
    """(bytes this machine sent to the hub, bytes it received from it)."""
    stats = Path(f"/sys/class/net/{veth}/statistics")
    return int((stats / "tx_bytes").read_text()), int((stats / "rx_bytes").read_text())


def main() -> None:
    lab = Lab("bhub")
    lab.down()
    try:
        state = lab.up(["centre-01", "centre-02", "centre-03"], hub="hub")
        hub = state.host("hub")
        assert hub is not None
        with tempfile.TemporaryDirectory() as tmp:
            print(json.dumps(measure(lab, hub.veth, Path(tmp)), indent=2))
    finally:
        lab.down()


def measure(lab: Lab, veth: str, tmp: Path) -> dict[str, object]:
    env = {**os.environ, "LPDEPLOY_HOME": str(tmp / "home"), "NO_COLOR": "1"}

    def lpdeploy(*args: str) -> float:
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "lpdeploy", *args], env=env, check=True,
                       stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL)  # fmt: skip
        return time.perf_counter() - start

    plan, kit = tmp / "plan.json", tmp / "kit"
    lpdeploy("plan", str(PROFILE), "--out", str(plan))
    lpdeploy("keys", "generate", "--out", str(tmp), "--name", "kit")
    lpdeploy("kit", "build", str(plan), "--out", str(kit), "--sign-key", str(tmp / "kit.key"),
             "--trusted-key", str(DEMO_KEY))  # fmt: skip
    keys = ("--trusted-key", str(tmp / "kit.pub"), "--trusted-key", str(DEMO_KEY))
    inventory = ("--inventory", str(lab.inventory))
    steps: dict[str, dict[str, float]] = {}
    for name, args in (
        ("hub prepare", ("hub", "prepare", "hub", "--kit", str(kit), *inventory, *keys)),
        ("apply --via", ("apply", str(kit / "plan.json"), "--kit", str(kit), *inventory,
                         *keys, "--via", "hub")),
        ("apply --via, no change", ("apply", str(kit / "plan.json"), "--kit", str(kit),
                                    *inventory, *keys, "--via", "hub")),
    ):  # fmt: skip
        sent, received = counters(veth)
        seconds = lpdeploy(*args)
        after = counters(veth)
        steps[name] = {"to_hub": after[0] - sent, "from_hub": after[1] - received,
                       "seconds": round(seconds, 1)}  # fmt: skip
    document = json.loads((kit / "plan.json").read_text())
    sizes = {
        folder.name: sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())
        for folder in (kit / "bundles").iterdir()
    }
    placed = sum(
        sizes[f"{b['id']}-{b['version']}"] for c in document["centres"] for b in c["bundles"]
    )
    archive = sum(f.stat().st_size for f in (kit / "packages").glob("*.tar"))
    once = sum(sizes.values()) + archive
    applied = steps["apply --via"]["to_hub"]
    return {
        "centres": len(document["centres"]),
        "bundles": len(sizes),
        "bundle_placements": sum(len(c["bundles"]) for c in document["centres"]),
        "bundle_bytes_unique": sum(sizes.values()),
        "bundle_bytes_per_centre_total": placed,
        "package_archive_bytes": archive,
        "each_once_bytes": once,
        "each_per_centre_bytes": placed + archive * len(document["centres"]),
        "steps": steps,
        "apply_link_bytes_over_each_once": round(applied / once, 3),
    }


if __name__ == "__main__":
    main()
