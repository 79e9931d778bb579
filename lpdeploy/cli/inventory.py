"""`lpdeploy inventory PLAN --out FILE`: the inventory skeleton for a plan's real servers."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from lpdeploy.cli.options import Json
from lpdeploy.errors import InputError
from lpdeploy.inventory.skeleton import PLACEHOLDER, render_skeleton
from lpdeploy.output import write_atomic
from lpdeploy.plan.load import load_plan
from lpdeploy.ui.console import err, out, print_json


def inventory_command(
    plan: Annotated[Path, typer.Argument(help="Plan file (JSON).", show_default=False)],
    out_file: Annotated[
        Path,
        typer.Option("--out", help="Write the inventory (YAML) to this file.", show_default=False),
    ],
    hub: Annotated[
        str | None,
        typer.Option(help="Add a regional hub of this name; the centres are reached from it."),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace FILE if it exists.")] = False,
    json: Json = False,
) -> None:
    """Write the Ansible inventory skeleton of a plan's servers: every centre a host, with
    the plan's host as its address where it has one and FILL-IN-... values to replace
    (address, key) elsewhere. `lpdeploy trust` and `preflight` refuse it until they are."""
    skeleton = render_skeleton(load_plan(plan), hub, str(plan), str(out_file))
    if out_file.is_dir():
        raise InputError.single(str(out_file), "is a folder; expected a file name", "--out")
    if out_file.exists() and not force:
        raise InputError.single(str(out_file), "exists; give --force to replace it", "--out")
    write_atomic(out_file, skeleton.text.encode("utf-8"))
    if json:
        print_json(
            {
                "inventory": str(out_file),
                "centres": skeleton.centres,
                "hub": skeleton.hub,
                "fill_in": [{"host": f.host, "field": f.field} for f in skeleton.fill_in],
            }
        )
        return
    count = len(skeleton.centres) + (skeleton.hub is not None)
    out.print(f"inventory skeleton written to {out_file}: {count} hosts")
    for field in dict.fromkeys(f.field for f in skeleton.fill_in):
        hosts = ", ".join(
            "all.vars (every host)" if f.host == "all" else f.host
            for f in skeleton.fill_in
            if f.field == field
        )
        out.print(f"  fill in {field}: {hosts}")
    err.print(
        f"next: replace every {PLACEHOLDER}-... value, then `lpdeploy trust {out_file}` "
        "(the file's header lists the steps)"
    )
