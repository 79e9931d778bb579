"""The journal: runs that never ended, and which run of a centre counts as its last."""

from __future__ import annotations

from pathlib import Path

from lpdeploy.journal import Journal


def test_a_killed_run_is_marked_once(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal.sqlite")
    killed = journal.start_run("apply", "camp", "a" * 64)
    finished = journal.start_run("apply", "camp", "a" * 64)
    journal.finish_run(finished, "ok")
    assert journal.close_abandoned(("apply",)) == [killed]
    assert journal.close_abandoned(("apply",)) == []
    last = journal.last_run("apply", "a" * 64)
    assert last is not None and last.id == finished
    journal.close()


def test_the_last_run_of_a_centre_is_the_latest_started(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal.sqlite")
    late = journal.start_run("verify", "camp", "a" * 64)
    journal.record_centre(late, "lc-01", 0, "ready", 0, 0.0, "")
    journal.db.execute(
        "INSERT INTO runs (kind, plan_name, plan_sha256, started)"
        " VALUES ('verify', 'camp', ?, 1.0)",
        ("a" * 64,),
    )  # an older run imported from a hub gets a higher id
    early = int(journal.db.execute("SELECT max(id) FROM runs").fetchone()[0])
    journal.record_centre(early, "lc-01", 0, "not-ready", 0, 0.0, "disk")
    assert journal.last_per_centre(("verify",))["lc-01"].outcome == "ready"
    journal.close()
