"""`lpdeploy verify PLAN`."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from lpdeploy.catalog import load_catalog
from lpdeploy.cli.options import CatalogDir, Json, Via, catalog_path, need_inventory
from lpdeploy.errors import RC
from lpdeploy.journal import Journal
from lpdeploy.journal_exchange import EXTRACT, extract
from lpdeploy.output import canonical_json, write_atomic
from lpdeploy.plan.load import load_plan
from lpdeploy.plan.model import Plan
from lpdeploy.readiness.check import check_readiness
from lpdeploy.readiness.report import ReadinessReport, junit_xml
from lpdeploy.settings import state_dir
from lpdeploy.ui.console import err, print_json
from lpdeploy.ui.readiness import report_html, show_report


def verify(
    plan: Annotated[Path, typer.Argument(help="Plan file (JSON).", show_default=False)],
    inventory: Annotated[
        Path | None, typer.Option(help="Ansible inventory naming the centres.")
    ] = None,
    junit: Annotated[Path | None, typer.Option(help="Also write JUnit XML here.")] = None,
    html: Annotated[
        Path | None, typer.Option(help="Also write a one-file HTML report here.")
    ] = None,
    deep: Annotated[
        bool, typer.Option("--deep", help="Hash every bundle file on the servers.")
    ] = False,
    report_dir: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Also write the report (JSON, HTML, JUnit) and this plan's journal extract "
            "here, for `status import` at headquarters.",
        ),
    ] = None,
    catalog: CatalogDir = None,
    via: Via = None,
    json: Json = False,
) -> None:
    """Readiness of every centre. Exit 0 when all are ready, 1 otherwise."""
    need_inventory(via, inventory)
    loaded = load_plan(plan)
    report = run_verify(
        loaded, catalog=catalog_path(catalog), inventory=inventory, deep=deep, via=via,
        extract_to=report_dir,
    )  # fmt: skip
    if report_dir is not None:
        junit = junit or report_dir / "junit.xml"
        html = html or report_dir / "report.html"
        write_atomic(report_dir / "report.json", canonical_json(report))
    if junit is not None:
        write_atomic(junit, junit_xml(report))
        err.print(f"JUnit XML written to {junit}")
    if html is not None:
        write_atomic(html, report_html(report).encode("utf-8"))
        err.print(f"HTML report written to {html}")
    if json:
        print_json(report)
    else:
        show_report(report)
    if not report.ready:
        raise typer.Exit(RC.FAILED)


def run_verify(
    plan: Plan,
    *,
    catalog: Path,
    inventory: Path | None,
    deep: bool = False,
    via: str | None = None,
    extract_to: Path | None = None,
) -> ReadinessReport:
    """One verify, as `verify` and `rehearse` run it: checked, then recorded in the journal
    (and the plan's journal extract written to `extract_to`)."""
    home = state_dir()
    workdir = home / "runs" / f"verify-{time.strftime('%Y%m%d-%H%M%S')}"
    report = check_readiness(
        plan, load_catalog(catalog), inventory, workdir, deep, plan.profile.name, via
    )
    journal = Journal(home / "journal.sqlite")
    try:
        run_id = journal.start_run("verify", plan.profile.name, plan.profile.sha256)
        for centre in report.centres:
            failing = "; ".join(f"{c.name}: {c.detail}" for c in centre.checks if not c.ok)
            journal.record_centre(
                run_id, centre.id, 0, "ready" if centre.ready else "not-ready", 0, 0.0, failing
            )
        journal.finish_run(run_id, "ready" if report.ready else "not-ready")
        if extract_to is not None:
            runs = extract(journal, plan.profile.name, plan.profile.sha256)
            write_atomic(extract_to / EXTRACT, canonical_json(runs))
    finally:
        journal.close()
    return report
