"""`lpdeploy usage`: learning outcomes back from the centres, aggregated, no personal data."""

from __future__ import annotations

import datetime
import time
from pathlib import Path
from typing import Annotated

import typer

from lpdeploy.cli.options import Json, Via, need_inventory
from lpdeploy.errors import InputError
from lpdeploy.plan.load import load_plan
from lpdeploy.settings import state_dir
from lpdeploy.ui.console import err, out, print_json
from lpdeploy.usage.collect import collect_usage
from lpdeploy.usage.exchange import check_export, load_files, write_export
from lpdeploy.usage.report import DIMENSIONS, THRESHOLD, Dimension, build_report
from lpdeploy.usage.store import dump_files, merge, open_store

app = typer.Typer(help="Learning outcomes back from the centres: collect, export, import, report.")
Out = Annotated[Path, typer.Option("--out", help="Folder to write the export to.")]


def store_path() -> Path:
    return state_dir() / "usage.sqlite"


@app.command("collect")
def collect(
    plan: Annotated[Path, typer.Argument(help="The plan whose centres to collect from.")],
    out_dir: Out,
    inventory: Annotated[
        Path | None, typer.Option(help="Ansible inventory of the centres.")
    ] = None,
    via: Via = None,
    json: Json = False,
) -> None:
    """Run each centre's collector over SSH (through --via HUB where needed) and write what
    they said to an export folder (then `usage import` it, here or elsewhere)."""
    need_inventory(via, inventory)
    loaded = load_plan(plan)
    workdir = state_dir() / "runs" / f"usage-{time.strftime('%Y%m%d-%H%M%S')}"
    files, failed = collect_usage(loaded, inventory, workdir, via)
    write_export(out_dir, files)
    rows = sum(len(f.rows) for f in files)
    if json:
        print_json({"out": str(out_dir), "centres": [f.centre for f in files], "rows": rows,
                    "failed": failed})  # fmt: skip
    else:
        out.print(f"{len(files)} centres, {rows} rows written to {out_dir}")
        for centre, why in sorted(failed.items()):
            err.print(f"{centre}: not collected: {why}")
    if failed:
        raise typer.Exit(1)


@app.command("export")
def export(out_dir: Out, json: Json = False) -> None:
    """Write this machine's store (what a hub collected and imported) to an export folder,
    for a USB drive. On a centre's server, `lpdeploy-usage export --out DIR` does the same."""
    db = open_store(store_path())
    try:
        files = dump_files(db)
    finally:
        db.close()
    write_export(out_dir, files)
    if json:
        print_json({"out": str(out_dir), "centres": [f.centre for f in files]})
    else:
        out.print(f"{len(files)} centres written to {out_dir}")


@app.command("import")
def import_exports(
    folders: Annotated[list[Path], typer.Argument(help="Export folders.", show_default=False)],
    json: Json = False,
) -> None:
    """Merge exports into this machine's store. Every folder is checked first (each file's
    size and sha256 against its manifest): a damaged or foreign export is refused (exit 1)
    and nothing is merged. Importing the same export again changes nothing."""
    paths = [path for folder in folders for path in check_export(folder)]
    db = open_store(store_path())
    try:
        merged = merge(db, load_files(paths))
    finally:
        db.close()
    if json:
        print_json({"added": merged.added, "replaced": merged.replaced, "kept": merged.kept})
    else:
        out.print(f"{merged.added} days added, {merged.replaced} replaced by newer "
                  f"collections, {merged.kept} already there")  # fmt: skip


def _day(value: str | None, option: str) -> datetime.date | None:
    if value is None:
        return None
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        raise InputError.single(option, f"'{value}' is not a date (YYYY-MM-DD)") from None


@app.command("report")
def report(
    by: Annotated[str, typer.Option(help=f"Group by: {', '.join(DIMENSIONS)}.")] = "centre",
    start: Annotated[str | None, typer.Option("--from", help="First day (YYYY-MM-DD).")] = None,
    end: Annotated[str | None, typer.Option("--to", help="Last day (YYYY-MM-DD).")] = None,
    threshold: Annotated[int, typer.Option(help="Counts below it are shown as '<N'.")] = THRESHOLD,
    csv: Annotated[bool, typer.Option(help="CSV on stdout.")] = False,
    html: Annotated[Path | None, typer.Option(help="Write an HTML page with charts.")] = None,
    json: Json = False,
) -> None:
    """Learners active, resources started and completed, page requests, per group and per
    day, from the store. Small counts are suppressed."""
    if by not in DIMENSIONS:
        raise InputError.single("--by", f"'{by}' is not one of {', '.join(DIMENSIONS)}")
    if threshold < 1:
        raise InputError.single("--threshold", "must be 1 or more")
    dimension: Dimension = by
    db = open_store(store_path())
    try:
        found = build_report(db, dimension, _day(start, "--from"), _day(end, "--to"), threshold)
    finally:
        db.close()
    if html is not None:
        from lpdeploy.ui.usage import report_html

        html.write_text(report_html(found), encoding="utf-8")
    if json:
        print_json(found.model_dump(mode="json"))
    elif csv:
        from lpdeploy.ui.usage import report_csv

        out.file.write(report_csv(found))
    else:
        from lpdeploy.ui.usage import show_report

        show_report(found)
