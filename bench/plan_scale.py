"""Planner scale: load and validate the inputs, then plan, in one run.

Catalog: 13,529 bundles over 40 languages (the Learning Passport's course count).
Profiles: 340, 3,400 (the learning centres of the Cox's Bazar camps) and 34,000 centres.
Prints plan/load at 3,400 centres (target <= 2.0) and how plan time grows with centres.
"""

from __future__ import annotations

import itertools
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from synthetic import write_inputs

from lpdeploy.catalog import load_catalog
from lpdeploy.output import canonical_json
from lpdeploy.plan import build_plan
from lpdeploy.profile import load_profile

BUNDLES = 13_529
SIZES = tuple(int(a) for a in sys.argv[1:]) or (340, 3_400, 34_000)
SERIALIZE_UP_TO = 3_400
"""Writing a 34,000-centre plan as JSON holds tens of millions of objects; measured up to here."""


def measure(folder: Path, centres: int) -> dict[str, float]:
    profile_path, catalog_path = write_inputs(folder, BUNDLES, centres)
    start = time.perf_counter()
    profile = load_profile(profile_path)
    catalog = load_catalog(catalog_path)
    loaded = time.perf_counter()
    plan = build_plan(profile, catalog)
    planned = time.perf_counter()
    run: dict[str, float] = {
        "centres": centres,
        "load_s": round(loaded - start, 3),
        "plan_s": round(planned - loaded, 3),
        "bundle_entries": sum(len(c.bundles) for c in plan.centres),
    }
    if centres <= SERIALIZE_UP_TO:
        run["plan_bytes"] = len(canonical_json(plan))
        run["serialize_s"] = round(time.perf_counter() - planned, 3)
    return run


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        runs = [measure(Path(tmp), centres) for centres in SIZES]
    for run in runs:
        line = (
            f"{run['centres']:>6} centres: load {run['load_s']:.2f} s, plan {run['plan_s']:.2f} s"
            f" (plan/load {run['plan_s'] / run['load_s']:.2f}), {run['bundle_entries']} entries"
        )
        if "serialize_s" in run:
            line += f", JSON {run['plan_bytes'] / 1e6:.0f} MB written in {run['serialize_s']:.2f} s"
        print(line)
    base = next(r for r in runs if r["centres"] == 3_400)
    ratio = base["plan_s"] / base["load_s"]
    growth = [
        round((b["plan_s"] / a["plan_s"]) / (b["centres"] / a["centres"]), 2)
        for a, b in itertools.pairwise(runs)
    ]
    print(f"plan/load at 3,400 centres: {ratio:.2f} (target <= 2.0)")
    print(f"plan time growth per 10x centres, relative to linear: {growth}")
    print(
        json.dumps(
            {"bench": "plan_scale", "ratio": round(ratio, 3), "growth": growth, "runs": runs}
        )
    )


if __name__ == "__main__":
    main()
