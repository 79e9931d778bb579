"""Learning outcomes at programme scale: 3,400 centres x 365 days of synthetic usage rows
(3 web bundles and 1 Kolibri resource a day each: about 5 million rows) in one export,
imported into a new store and reported by country, language and centre. The baseline is
loading the inputs: reading every file of the export and parsing its JSON, in this process.

    python bench/usage_scale.py [--centres 3400] [--days 365]
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import random
import tempfile
import time
from pathlib import Path

from lpdeploy.usage.exchange import MANIFEST, check_export, load_files
from lpdeploy.usage.report import build_report
from lpdeploy.usage.store import merge, open_store

COUNTRIES = ["TD", "BD", "UA", "KE", "SS"]
BUNDLES = {"abetka-uk": "uk", "compter-fr": "fr", "numbers-my": "my", "hisabati-sw": "sw"}


def write_synthetic(folder: Path, centres: int, days: int) -> int:
    """The export, written as `usage export` would; the number of rows."""
    rng = random.Random(17)
    first = datetime.date(2026, 1, 1)
    entries, rows_total = [], 0
    (folder / "centres").mkdir(parents=True)
    for number in range(centres):
        centre = f"centre-{number:05d}"
        rows = []
        for offset in range(days):
            day = (first + datetime.timedelta(days=offset)).isoformat()
            for bundle in ("abetka-uk", "compter-fr", "numbers-my"):
                requests = rng.randint(0, 400)
                rows.append({"day": day, "source": "web", "bundle": bundle, "resource": "",
                             "requests": requests, "devices": requests // 8})  # fmt: skip
            rows.append({"day": day, "source": "kolibri", "bundle": "hisabati-sw",
                         "resource": "a" * 32, "learners": rng.randint(0, 60),
                         "started": rng.randint(0, 60), "completed": rng.randint(0, 40),
                         "seconds": rng.randint(0, 20000)})  # fmt: skip
        rows_total += len(rows)
        usage = {
            "schema_version": 1, "kind": "lpdeploy-usage", "centre": centre,
            "collected_at": 1_790_000_000.0,
            "context": {"country": COUNTRIES[number % len(COUNTRIES)], "region": f"r{number % 40}",
                        "languages": list(BUNDLES.values()),
                        "bundles": {b: {"languages": [t], "subjects": ["numeracy"]}
                                    for b, t in BUNDLES.items()}},
            "rows": rows,
        }  # fmt: skip
        data = json.dumps(usage).encode()
        path = f"centres/{centre}.json"
        (folder / path).write_bytes(data)
        entries.append(
            {"path": path, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
        )
    manifest = {"schema_version": 1, "kind": "lpdeploy-usage-export", "files": entries}
    (folder / MANIFEST).write_text(json.dumps(manifest))
    return rows_total


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--centres", type=int, default=3400)
    parser.add_argument("--days", type=int, default=365)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        export = Path(tmp) / "export"
        rows = write_synthetic(export, options.centres, options.days)
        size = sum(p.stat().st_size for p in export.rglob("*") if p.is_file())

        started = time.perf_counter()
        parsed = [json.loads(p.read_bytes()) for p in sorted((export / "centres").iterdir())]
        load = time.perf_counter() - started
        assert len(parsed) == options.centres
        del parsed

        started = time.perf_counter()
        store = Path(tmp) / "usage.sqlite"
        db = open_store(store)
        merged = merge(db, load_files(check_export(export)))
        imported = time.perf_counter() - started
        assert merged.added == options.centres * options.days * 2

        reports = {}
        for by in ("country", "language", "centre"):
            started = time.perf_counter()
            found = build_report(db, by)
            reports[by] = time.perf_counter() - started
            assert found.groups
        db.close()
        store_bytes = store.stat().st_size
    figures = {
        "bench": "usage_scale",
        "centres": options.centres,
        "days": options.days,
        "rows": rows,
        "export_bytes": size,
        "load_s": round(load, 1),
        "import_s": round(imported, 1),
        "import_over_load": round(imported / load, 2),
        **{f"report_by_{by}_s": round(seconds, 2) for by, seconds in reports.items()},
        "store_bytes": store_bytes,
    }
    print(f"{rows:,} rows of {options.centres} centres x {options.days} days "
          f"({size / 1e6:.0f} MB): loading them {load:.1f} s, importing {imported:.1f} s "
          f"({figures['import_over_load']}x); report by country {reports['country']:.1f} s, "
          f"language {reports['language']:.1f} s, centre {reports['centre']:.1f} s; "
          f"store {store_bytes / 1e6:.0f} MB")  # fmt: skip
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
