"""Reports back by USB: a hub's journal extract merged at headquarters, once."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from lpdeploy.cli import app
from lpdeploy.journal import Journal
from lpdeploy.journal_exchange import EXTRACT, extract
from lpdeploy.output import canonical_json

SHA = "a" * 64


def hub_report(home: Path, out: Path) -> None:
    """What `verify --out` leaves: this plan's runs from the hub's journal."""
    journal = Journal(home / "journal.sqlite")
    try:
        for kind, outcome in (("apply", "ok"), ("verify", "ready")):
            run = journal.start_run(kind, "camp", SHA)
            journal.record_centre(run, "lc-01", 1, outcome, 3, 1.5, "")
            journal.finish_run(run, outcome)
        journal.start_run("apply", "other-plan", "b" * 64)
        out.mkdir()
        (out / EXTRACT).write_bytes(canonical_json(extract(journal, "camp", SHA)))
    finally:
        journal.close()


def status_import(home: Path, folder: Path, *more: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["status", "import", str(folder), "--json", *more],
                                env={"LPDEPLOY_HOME": str(home)})  # fmt: skip
    return result.exit_code, result.stdout, result.stderr


def test_import_once_for_a_known_plan(tmp_path: Path) -> None:
    usb = tmp_path / "usb"
    hub_report(tmp_path / "hub", usb)
    hq = tmp_path / "hq"
    code, _, said = status_import(hq, usb)
    assert code == 2 and "unknown to this journal" in said

    journal = Journal(hq / "journal.sqlite")
    journal.finish_run(journal.start_run("kit", "camp", SHA), "ok")  # HQ built its kit
    journal.close()
    code, out, _ = status_import(hq, usb)
    assert code == 0 and json.loads(out) == {"plan": "camp", "imported": 2, "already_there": 0}
    code, out, _ = status_import(hq, usb)
    assert json.loads(out)["imported"] == 0 and json.loads(out)["already_there"] == 2

    shown = CliRunner().invoke(app, ["status", "--json"], env={"LPDEPLOY_HOME": str(hq)})
    centres = json.loads(shown.stdout)["centres"]
    assert centres[0]["id"] == "lc-01"
    assert centres[0]["apply"]["changed"] == 3 and centres[0]["verify"]["outcome"] == "ready"


def test_a_bad_extract_is_an_input_error(tmp_path: Path) -> None:
    (tmp_path / EXTRACT).write_text('{"schema_version": 1, "plan": {"name": "x"}}')
    code, _, said = status_import(tmp_path / "hq", tmp_path)
    assert code == 2 and EXTRACT in said and "plan.sha256" in said


def test_status_names_the_hub_that_ran_each_centre(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal.sqlite")
    run = journal.start_run("apply", "camp", SHA)
    journal.record_centre(run, "lc-01", 1, "changed", 3, 1.5, "", hub="hub-north")
    journal.record_centre(run, "lc-02", 1, "changed", 3, 1.5, "")
    journal.finish_run(run, "ok")
    journal.close()
    env = {"LPDEPLOY_HOME": str(tmp_path), "COLUMNS": "120"}
    shown = CliRunner().invoke(app, ["status", "--json"], env=env)
    hubs = {c["id"]: c["apply"]["hub"] for c in json.loads(shown.stdout)["centres"]}
    assert hubs == {"lc-01": "hub-north", "lc-02": None}
    table = CliRunner().invoke(app, ["status"], env=env).stdout
    assert "hub" in table and "hub-north" in table
