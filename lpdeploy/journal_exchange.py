"""Journal extracts that travel by USB: `verify --out DIR` writes the runs of a plan from
the journal where it ran (a hub's), `status import DIR` merges them into another journal
(headquarters'). A run is the same run wherever it is: (kind, plan, started) names it, so
importing twice adds nothing."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from lpdeploy.journal import Journal

EXTRACT = "journal.json"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CentreEntry(Strict):
    centre: str = Field(min_length=1)
    wave: int | None
    outcome: str
    changed: int
    seconds: float | None
    message: str


class RunEntry(Strict):
    kind: str = Field(min_length=1)
    started: float
    ended: float | None
    outcome: str | None
    centres: list[CentreEntry]


class PlanRef(Strict):
    name: str
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


class JournalExtract(Strict):
    schema_version: Literal[1] = 1
    plan: PlanRef
    runs: list[RunEntry]


def extract(journal: Journal, name: str, sha256: str) -> JournalExtract:
    runs = []
    rows = journal.db.execute(
        "SELECT id, kind, started, ended, outcome FROM runs WHERE plan_sha256 = ? ORDER BY id",
        (sha256,),
    ).fetchall()
    for run_id, kind, started, ended, outcome in rows:
        centres = [
            CentreEntry(centre=c, wave=w, outcome=o, changed=n, seconds=s, message=m)
            for c, w, o, n, s, m in journal.db.execute(
                "SELECT centre, wave, outcome, changed, seconds, message FROM centres"
                " WHERE run_id = ? ORDER BY centre",
                (run_id,),
            )
        ]
        runs.append(
            RunEntry(kind=kind, started=started, ended=ended, outcome=outcome, centres=centres)
        )
    return JournalExtract(plan=PlanRef(name=name, sha256=sha256), runs=runs)


def known_plans(journal: Journal) -> set[str]:
    return {row[0] for row in journal.db.execute("SELECT DISTINCT plan_sha256 FROM runs")}


def merge(journal: Journal, extract: JournalExtract) -> tuple[int, int]:
    """Add the runs the journal lacks, in one transaction; (added, already there)."""
    added = 0
    with journal.db:
        for run in extract.runs:
            there = journal.db.execute(
                "SELECT 1 FROM runs WHERE kind = ? AND plan_sha256 = ? AND started = ?",
                (run.kind, extract.plan.sha256, run.started),
            ).fetchone()
            if there:
                continue
            cursor = journal.db.execute(
                "INSERT INTO runs (kind, plan_name, plan_sha256, started, ended, outcome)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (run.kind, extract.plan.name, extract.plan.sha256, run.started, run.ended,
                 run.outcome),
            )  # fmt: skip
            journal.db.executemany(
                "INSERT INTO centres (run_id, centre, wave, outcome, changed, seconds, message)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(cursor.lastrowid, c.centre, c.wave, c.outcome, c.changed, c.seconds,
                  c.message) for c in run.centres],
            )  # fmt: skip
            added += 1
    return added, len(extract.runs) - added
