"""The journal: an SQLite record of every run, per centre, that `lpdeploy status` reads."""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    plan_name TEXT NOT NULL,
    plan_sha256 TEXT NOT NULL,
    started REAL NOT NULL,
    ended REAL,
    outcome TEXT
);
CREATE TABLE IF NOT EXISTS centres (
    run_id INTEGER NOT NULL REFERENCES runs(id),
    centre TEXT NOT NULL,
    wave INTEGER,
    outcome TEXT NOT NULL,
    changed INTEGER NOT NULL DEFAULT 0,
    seconds REAL,
    message TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (run_id, centre)
);
"""


@dataclass(frozen=True)
class CentreRecord:
    centre: str
    run_id: int
    kind: str
    plan_name: str
    outcome: str
    changed: int
    ended: float | None
    message: str


class Journal:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.db = sqlite3.connect(path, timeout=10)
        self.db.executescript(SCHEMA)

    def close(self) -> None:
        self.db.close()

    def start_run(self, kind: str, plan_name: str, plan_sha256: str) -> int:
        with self.db:
            cursor = self.db.execute(
                "INSERT INTO runs (kind, plan_name, plan_sha256, started) VALUES (?, ?, ?, ?)",
                (kind, plan_name, plan_sha256, time.time()),
            )
        return int(cursor.lastrowid or 0)

    def record_centre(
        self,
        run_id: int,
        centre: str,
        wave: int,
        outcome: str,
        changed: int,
        seconds: float,
        message: str,
    ) -> None:
        with self.db:
            self.db.execute(
                "INSERT OR REPLACE INTO centres VALUES (?, ?, ?, ?, ?, ?, ?)",
                (run_id, centre, wave, outcome, changed, seconds, message),
            )

    def finish_run(self, run_id: int, outcome: str) -> None:
        with self.db:
            self.db.execute(
                "UPDATE runs SET ended = ?, outcome = ? WHERE id = ?",
                (time.time(), outcome, run_id),
            )

    def last_per_centre(self, kind: str) -> dict[str, CentreRecord]:
        rows = self.db.execute(
            """SELECT c.centre, r.id, r.kind, r.plan_name, c.outcome, c.changed, r.ended, c.message
               FROM centres c JOIN runs r ON r.id = c.run_id
               WHERE r.kind = ? ORDER BY r.id""",
            (kind,),
        ).fetchall()
        return {row[0]: CentreRecord(*row) for row in rows}
