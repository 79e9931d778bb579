"""The journal: an SQLite record of every run, per centre, that `lpdeploy status` reads."""

from __future__ import annotations

import hashlib
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from lpdeploy.errors import InputError

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    plan_name TEXT NOT NULL,
    plan_sha256 TEXT NOT NULL,
    started REAL NOT NULL,
    ended REAL,
    outcome TEXT,
    resumes INTEGER
);
CREATE TABLE IF NOT EXISTS centres (
    run_id INTEGER NOT NULL REFERENCES runs(id),
    centre TEXT NOT NULL,
    wave INTEGER,
    outcome TEXT NOT NULL,
    changed INTEGER NOT NULL DEFAULT 0,
    seconds REAL,
    message TEXT NOT NULL DEFAULT '',
    hub TEXT,
    started REAL,
    ended REAL,
    PRIMARY KEY (run_id, centre)
);
CREATE TABLE IF NOT EXISTS kept_plans (
    sha256 TEXT PRIMARY KEY,
    plan TEXT NOT NULL
);
"""
APPLIED = ("apply", "rollback")
"""The kinds of run that change servers: `status` shows the last of either."""


@dataclass(frozen=True)
class RunRecord:
    id: int
    kind: str
    plan_sha256: str
    started: float
    ended: float | None
    outcome: str | None
    resumes: int | None
    rollback_to: int | None = None
    plan_digest: str | None = None
    """sha256 of the plan the run applied, kept once in `kept_plans` for a rollback."""


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
    rollback_to: int | None = None
    hub: str | None = None
    """The hub whose Ansible ran it (None: the controller)."""


@dataclass(frozen=True)
class CentreTiming:
    centre: str
    hub: str | None
    wave: int
    started: float
    ended: float


RUN_COLUMNS = "id, kind, plan_sha256, started, ended, outcome, resumes, rollback_to, plan_digest"


class Journal:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.db = sqlite3.connect(path, timeout=10)
        try:
            self._open()
        except (sqlite3.DatabaseError, InputError) as exc:
            self.db.close()
            why = (
                exc.issues[0].message
                if isinstance(exc, InputError)
                else f"not an lpdeploy journal ({exc})"
            )
            raise InputError.single(
                str(path), f"{why}; move it aside to start a new journal", "journal"
            ) from None

    def _open(self) -> None:
        self.db.executescript(SCHEMA)
        wanted = {
            "runs": {"id", "kind", "plan_name", "plan_sha256", "started", "ended", "outcome"},
            "centres": {"run_id", "centre", "wave", "outcome", "changed", "seconds", "message"},
        }
        have = {
            table: {row[1] for row in self.db.execute(f"PRAGMA table_info({table})")}
            for table in wanted
        }
        for table, names in wanted.items():
            if not names <= have[table]:
                missing = ", ".join(sorted(names - have[table]))
                raise InputError.single(
                    str(self.path), f"table {table} lacks columns {missing}", "journal"
                )
        # Journals from before --resume and rollback.
        for column, kind in (("resumes", "INTEGER"), ("rollback_to", "INTEGER"),
                             ("plan_digest", "TEXT")):  # fmt: skip
            if column not in have["runs"]:
                with self.db:
                    self.db.execute(f"ALTER TABLE runs ADD COLUMN {column} {kind}")
        # Journals from before hubs in the plan: which hub ran a centre, and when.
        for column, kind in (("hub", "TEXT"), ("started", "REAL"), ("ended", "REAL")):
            if column not in have["centres"]:
                with self.db:
                    self.db.execute(f"ALTER TABLE centres ADD COLUMN {column} {kind}")

    def close(self) -> None:
        self.db.close()

    def start_run(
        self,
        kind: str,
        plan_name: str,
        plan_sha256: str,
        resumes: int | None = None,
        plan: str | None = None,
        rollback_to: int | None = None,
    ) -> int:
        """A new run; `plan`, the plan's JSON, is kept (once per content) for a later
        rollback to this run."""
        digest = plan_digest(plan) if plan is not None else None
        with self.db:
            if plan is not None:
                self.db.execute("INSERT OR IGNORE INTO kept_plans VALUES (?, ?)", (digest, plan))
            cursor = self.db.execute(
                "INSERT INTO runs (kind, plan_name, plan_sha256, started, resumes, rollback_to,"
                " plan_digest) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (kind, plan_name, plan_sha256, time.time(), resumes, rollback_to, digest),
            )
        return int(cursor.lastrowid or 0)

    def plan_of(self, run: RunRecord) -> str | None:
        row = self.db.execute(
            "SELECT plan FROM kept_plans WHERE sha256 = ?", (run.plan_digest,)
        ).fetchone()
        return str(row[0]) if row else None

    def runs_of(self, plan_name: str, kinds: tuple[str, ...] = APPLIED) -> list[RunRecord]:
        """The runs of these kinds for plans of this name, newest first."""
        marks = ", ".join("?" * len(kinds))
        rows = self.db.execute(
            f"SELECT {RUN_COLUMNS} FROM runs WHERE plan_name = ? AND kind IN ({marks})"
            " ORDER BY id DESC",
            (plan_name, *kinds),
        ).fetchall()
        return [RunRecord(*row) for row in rows]

    def run(self, run_id: int) -> RunRecord | None:
        row = self.db.execute(f"SELECT {RUN_COLUMNS} FROM runs WHERE id = ?", (run_id,)).fetchone()
        return RunRecord(*row) if row else None

    def last_run(self, kind: str, plan_sha256: str) -> RunRecord | None:
        row = self.db.execute(
            f"SELECT {RUN_COLUMNS} FROM runs"
            " WHERE kind = ? AND plan_sha256 = ? ORDER BY id DESC LIMIT 1",
            (kind, plan_sha256),
        ).fetchone()
        return RunRecord(*row) if row else None

    def close_abandoned(self, kinds: tuple[str, ...]) -> list[int]:
        """Mark runs that never ended (their process was killed) as `killed`; return their ids.

        Only call while holding the lock of these kinds: then no such run is still going.
        """
        marks = ", ".join("?" * len(kinds))
        ids = [
            row[0]
            for row in self.db.execute(
                f"SELECT id FROM runs WHERE kind IN ({marks}) AND ended IS NULL"
                " AND outcome IS NULL",
                kinds,
            ).fetchall()
        ]
        with self.db:
            self.db.executemany(
                "UPDATE runs SET outcome = 'killed' WHERE id = ?", [(i,) for i in ids]
            )
        return ids

    def record_centre(
        self,
        run_id: int,
        centre: str,
        wave: int,
        outcome: str,
        changed: int,
        seconds: float,
        message: str,
        *,
        hub: str | None = None,
        span: tuple[float, float] | None = None,
    ) -> None:
        """`hub`: the hub whose Ansible ran it; `span`: when its run started and when it
        finished there (epoch seconds)."""
        started, ended = span if span else (None, None)
        with self.db:
            self.db.execute(
                "INSERT OR REPLACE INTO centres (run_id, centre, wave, outcome, changed, "
                "seconds, message, hub, started, ended) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (run_id, centre, wave, outcome, changed, seconds, message, hub, started, ended),
            )

    def timings(self, run_id: int) -> list[CentreTiming]:
        """Where and when each centre of a run ran (those it recorded a span for)."""
        rows = self.db.execute(
            "SELECT centre, hub, wave, started, ended FROM centres "
            "WHERE run_id = ? AND started IS NOT NULL ORDER BY started, centre",
            (run_id,),
        ).fetchall()
        return [CentreTiming(*row) for row in rows]

    def finish_run(self, run_id: int, outcome: str) -> None:
        with self.db:
            self.db.execute(
                "UPDATE runs SET ended = ?, outcome = ? WHERE id = ?",
                (time.time(), outcome, run_id),
            )

    def last_per_centre(self, kinds: tuple[str, ...]) -> dict[str, CentreRecord]:
        marks = ", ".join("?" * len(kinds))
        rows = self.db.execute(
            f"""SELECT c.centre, r.id, r.kind, r.plan_name, c.outcome, c.changed, r.ended,
               c.message, r.rollback_to, c.hub
               FROM centres c JOIN runs r ON r.id = c.run_id
               WHERE r.kind IN ({marks}) ORDER BY r.started, r.id""",
            kinds,
        ).fetchall()
        return {row[0]: CentreRecord(*row) for row in rows}


def plan_digest(plan: str) -> str:
    return hashlib.sha256(plan.encode()).hexdigest()
