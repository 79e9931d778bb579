"""`lpdeploy plan PROFILE`, `plan show PLAN`, `plan diff OLD NEW`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from lpdeploy.catalog import load_catalog
from lpdeploy.cli.options import CatalogDir, Json, catalog_path
from lpdeploy.output import canonical_json, write_atomic
from lpdeploy.plan import build_plan
from lpdeploy.plan.diff import diff_plans
from lpdeploy.plan.load import load_plan
from lpdeploy.profile import load_profile
from lpdeploy.ui.console import err, print_json
from lpdeploy.ui.plan import show_diff, show_plan

DEFAULT_COMMAND = "compile"


class _PlanGroup(TyperGroup):
    """`plan PROFILE` compiles; `plan show` and `plan diff` are subcommands."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = [DEFAULT_COMMAND, *args]
        return super().parse_args(ctx, args)


app = typer.Typer(
    cls=_PlanGroup,
    no_args_is_help=True,
    help="Compile deployment plans (`plan PROFILE`), show and compare them.",
)

PlanFile = Annotated[Path, typer.Argument(help="Plan file (JSON).", show_default=False)]


@app.command(DEFAULT_COMMAND)
def compile_plan(
    profile: Annotated[Path, typer.Argument(help="Crisis profile (YAML).", show_default=False)],
    catalog: CatalogDir = None,
    out: Annotated[Path | None, typer.Option(help="Write the plan to this file.")] = None,
    json: Json = False,
) -> None:
    """Compile the deployment plan of a profile against a catalog (same as `plan PROFILE`)."""
    plan = build_plan(load_profile(profile), load_catalog(catalog_path(catalog)))
    if out is not None:
        write_atomic(out, canonical_json(plan))
        err.print(f"plan written to {out}")
    if json:
        print_json(plan)
    else:
        show_plan(plan)


@app.command()
def show(path: PlanFile, json: Json = False) -> None:
    """Render a plan."""
    plan = load_plan(path)
    if json:
        print_json(plan)
    else:
        show_plan(plan)


@app.command()
def diff(old: PlanFile, new: PlanFile, json: Json = False) -> None:
    """Show which centres gain, lose or change bundles between two plans."""
    change = diff_plans(load_plan(old), load_plan(new))
    if json:
        print_json(change)
    else:
        show_diff(change)
