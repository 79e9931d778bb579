"""The controller's store of learning outcomes (SQLite), and the merge of usage files.

A centre's collection of one day and one source is a *part*. Collections are complete for
the days they hold (the server keeps each day's running totals), so a newer collection of
a part replaces an older one whole. Which is newer is decided by (collected_at, digest of
the part's rows): importing the same export twice, or overlapping exports in any order,
leaves the same store.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from lpdeploy.usage.model import BundleInfo, Context, Row, UsageFile

METRICS = ("requests", "devices", "learners", "started", "completed", "seconds")
SCHEMA = """
CREATE TABLE IF NOT EXISTS parts (
    centre TEXT NOT NULL, day TEXT NOT NULL, source TEXT NOT NULL,
    collected_at REAL NOT NULL, digest TEXT NOT NULL,
    PRIMARY KEY (centre, day, source)
);
CREATE TABLE IF NOT EXISTS rows (
    centre TEXT NOT NULL, day TEXT NOT NULL, source TEXT NOT NULL,
    bundle TEXT NOT NULL, resource TEXT NOT NULL,
    requests INTEGER NOT NULL, devices INTEGER NOT NULL, learners INTEGER NOT NULL,
    started INTEGER NOT NULL, completed INTEGER NOT NULL, seconds INTEGER NOT NULL,
    PRIMARY KEY (centre, day, source, bundle, resource)
);
CREATE INDEX IF NOT EXISTS rows_by_day ON rows (day);
CREATE TABLE IF NOT EXISTS centres (
    centre TEXT PRIMARY KEY, country TEXT NOT NULL, region TEXT NOT NULL,
    collected_at REAL NOT NULL, digest TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS facets (
    centre TEXT NOT NULL, bundle TEXT NOT NULL, facet TEXT NOT NULL, value TEXT NOT NULL,
    PRIMARY KEY (centre, bundle, facet, value)
);
"""


@dataclass(frozen=True)
class Merged:
    added: int
    """Parts (centre, day, source) the store did not hold."""
    replaced: int
    """Parts a newer collection replaced."""
    kept: int
    """Parts the store already held as they are, or newer."""


def open_store(path: Path) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path)
    db.executescript(SCHEMA)
    return db


def _digest(value: object) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()


def merge(db: sqlite3.Connection, files: Iterable[UsageFile]) -> Merged:
    """Merge every file in one transaction."""
    added = replaced = kept = 0
    with db:
        for usage in files:
            _merge_context(db, usage)
            parts: dict[tuple[str, str], list[tuple[str | int, ...]]] = defaultdict(list)
            for r in usage.rows:
                parts[(r.day.isoformat(), r.source)].append(
                    (r.bundle, r.resource, r.requests, r.devices, r.learners, r.started,
                     r.completed, r.seconds)
                )  # fmt: skip
            held = {
                (day, source): (at, digest)
                for day, source, at, digest in db.execute(
                    "SELECT day, source, collected_at, digest FROM parts WHERE centre=?",
                    (usage.centre,),
                )
            }
            for (day, source), values in sorted(parts.items()):
                values.sort()
                digest = hashlib.sha256(repr(values).encode()).hexdigest()
                before = held.get((day, source))
                if before is not None and before >= (usage.collected_at, digest):
                    kept += 1
                    continue
                key = (usage.centre, day, source)
                if before is not None:
                    db.execute("DELETE FROM rows WHERE centre=? AND day=? AND source=?", key)
                db.executemany(
                    "INSERT INTO rows VALUES (?,?,?,?,?,?,?,?,?,?,?)", [(*key, *v) for v in values]
                )
                db.execute(
                    "INSERT OR REPLACE INTO parts VALUES (?,?,?,?,?)",
                    (*key, usage.collected_at, digest),
                )
                added, replaced = (added + 1, replaced) if before is None else (added, replaced + 1)
    return Merged(added=added, replaced=replaced, kept=kept)


def _merge_context(db: sqlite3.Connection, usage: UsageFile) -> None:
    """The newest collection says where a centre is and what its bundles are about."""
    context = usage.context
    digest = _digest(context.model_dump(mode="json"))
    held = db.execute(
        "SELECT collected_at, digest FROM centres WHERE centre=?", (usage.centre,)
    ).fetchone()
    if held is not None and tuple(held) >= (usage.collected_at, digest):
        return
    db.execute(
        "INSERT OR REPLACE INTO centres VALUES (?,?,?,?,?)",
        (usage.centre, context.country, context.region, usage.collected_at, digest),
    )
    db.execute("DELETE FROM facets WHERE centre=?", (usage.centre,))
    facets = {(own, "language", tag) for own in ("portal", "kolibri") for tag in context.languages}
    for bundle, info in context.bundles.items():
        facets |= {(bundle, "language", tag) for tag in info.languages}
        facets |= {(bundle, "subject", subject) for subject in info.subjects}
    db.executemany(
        "INSERT INTO facets VALUES (?,?,?,?)", [(usage.centre, *f) for f in sorted(facets)]
    )


def dump(db: sqlite3.Connection) -> list[tuple[object, ...]]:
    """Everything the store holds, sorted: two stores are the same when their dumps are."""
    found: list[tuple[object, ...]] = []
    for table in ("parts", "rows", "centres", "facets"):
        found += [(table, *row) for row in db.execute(f"SELECT * FROM {table} ORDER BY 1,2,3,4")]
    return found


def dump_files(db: sqlite3.Connection) -> list[UsageFile]:
    """The store as usage files: one per centre and collection time, so that merging them
    elsewhere decides each part as merging the originals would."""
    contexts = {}
    for centre, country, region in db.execute("SELECT centre, country, region FROM centres"):
        facets: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
        for bundle, facet, value in db.execute(
            "SELECT bundle, facet, value FROM facets WHERE centre=? ORDER BY 1,2,3", (centre,)
        ):
            facets[bundle][facet].append(value)
        languages = facets.pop("portal", {}).get("language", [])
        facets.pop("kolibri", None)
        bundles = {
            b: BundleInfo(languages=f.get("language", []), subjects=f.get("subject", []))
            for b, f in facets.items()
        }
        contexts[centre] = Context(
            country=country, region=region, languages=languages, bundles=bundles
        )
    groups: dict[tuple[str, float], list[Row]] = defaultdict(list)
    for centre, day, source, collected_at, bundle, resource, *values in db.execute(
        "SELECT r.centre, r.day, r.source, p.collected_at, r.bundle, r.resource, "
        + ", ".join(f"r.{m}" for m in METRICS)
        + " FROM rows r JOIN parts p USING (centre, day, source) ORDER BY 1,2,3,5,6"
    ):
        row = Row(day=day, source=source, bundle=bundle, resource=resource,
                  **dict(zip(METRICS, values, strict=True)))  # fmt: skip
        groups[(centre, collected_at)].append(row)
    return [
        UsageFile(
            centre=centre, collected_at=at, context=contexts.get(centre, Context()), rows=rows
        )
        for (centre, at), rows in sorted(groups.items())
    ]
