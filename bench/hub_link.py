"""Bytes over the controller-hub link for a rollout through a hub, against the bundle bytes.

A lab with a hub and three centres behind it (`lab up --hub`); the plan of
tests/fixtures/profiles/lab3.yaml over the repo's catalog plus one 30 MB, 200-file bundle in
English, so that all three centres share it (12 placements of 5 bundles). A kit is built,
the hub prepared from it, then `apply --via hub` runs twice (the second changes nothing).
The link is the hub's veth on this machine's bridge: its kernel counters give every byte
each way, SSH and TCP overhead included.

Target (issue 8): each bundle crosses the link once: the bytes `apply --via` sends to the
hub are about the unique bundle bytes, not the bytes of every centre's bundles (and the
package archive, which `hub prepare` left on the hub, does not cross again).

Run as root: `python bench/hub_link.py` (prints one JSON document).
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
from pathlib import Path

from lpdeploy.bundle.build import build_bundle
from lpdeploy.lab.fleet import Lab

REPO = Path(__file__).resolve().parent.parent
PROFILE = REPO / "tests" / "fixtures" / "profiles" / "lab3.yaml"
DEMO_KEY = REPO / "bundles" / "keys" / "lpdeploy-demo.pub"
BIG = """\
id: big-course-en
version: "1"
title: Big course
kind: html
languages: [en]
subjects: [wellbeing]
age_bands: [early-primary, primary]
licence: CC0-1.0
services: [portal]
"""


def big_bundle(folder: Path, catalog: Path, key: Path) -> None:
    rng = random.Random(8)
    content = folder / "content"
    (content / "media").mkdir(parents=True)
    (content / "index.html").write_text("<html><body>Big course</body></html>\n")
    for index in range(200):
        (content / "media" / f"part-{index:03d}.bin").write_bytes(rng.randbytes(150_000))
    (folder / "bundle.yaml").write_text(BIG)
    build_bundle(folder, catalog, sign_key=key)


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

    plan, kit, catalog = tmp / "plan.json", tmp / "kit", tmp / "catalog"
    lpdeploy("keys", "generate", "--out", str(tmp), "--name", "kit")
    shutil.copytree(REPO / "bundles", catalog, ignore=shutil.ignore_patterns("src"))
    big_bundle(tmp / "big", catalog, tmp / "kit.key")
    lpdeploy("plan", str(PROFILE), "--catalog", str(catalog), "--out", str(plan))
    lpdeploy("kit", "build", str(plan), "--out", str(kit), "--catalog", str(catalog),
             "--sign-key", str(tmp / "kit.key"), "--trusted-key", str(DEMO_KEY),
             "--trusted-key", str(tmp / "kit.pub"))  # fmt: skip
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
    wheels = sum(f.stat().st_size for f in (kit / "wheels").glob("*.whl"))
    unique = sum(sizes.values())
    applied = steps["apply --via"]["to_hub"]
    return {
        "centres": len(document["centres"]),
        "bundles": len(sizes),
        "bundle_placements": sum(len(c["bundles"]) for c in document["centres"]),
        "bundle_bytes_unique": unique,
        "bundle_bytes_of_every_centre": placed,
        "package_archive_bytes": archive,
        "wheel_bytes": wheels,
        "steps": steps,
        "apply_to_hub_over_unique_bundle_bytes": round(applied / unique, 3),
        "apply_to_hub_over_every_centres_bundle_bytes": round(applied / placed, 3),
        "prepare_to_hub_over_archive_and_wheels": round(
            steps["hub prepare"]["to_hub"] / (archive + wheels), 3
        ),
    }


if __name__ == "__main__":
    main()
