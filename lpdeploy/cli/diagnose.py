"""`lpdeploy diagnose PLAN --out DIR` and `lpdeploy diagnose --local --out DIR`."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from lpdeploy.cli.apply import Inventory, Limit, VaultPasswordFile
from lpdeploy.cli.options import Json, Via, need_inventory
from lpdeploy.diagnose.gather import diagnose_centres, diagnose_here
from lpdeploy.errors import RC, InputError
from lpdeploy.journal import APPLIED, Journal
from lpdeploy.plan.load import load_plan
from lpdeploy.secrets import resolve_secrets
from lpdeploy.settings import state_dir
from lpdeploy.ui.console import err, out, print_json


def diagnose(
    plan: Annotated[
        Path | None, typer.Argument(help="Plan file (JSON); not with --local.", show_default=False)
    ] = None,
    out_dir: Annotated[
        Path, typer.Option("--out", help="Folder for the archives.", show_default=False)
    ] = Path("diagnostics"),
    local: Annotated[
        bool, typer.Option("--local", help="This machine only (a server or a hub), no plan.")
    ] = False,
    inventory: Inventory = None,
    limit: Limit = None,
    via: Via = None,
    vault_password_file: VaultPasswordFile = None,
    json: Json = False,
) -> None:
    """One archive per centre with what an engineer needs to find out why: services and
    their journal, logs (tails), disk, memory, clock, network, packages, the desired state,
    each bundle, the last runs. Secrets are replaced by [REDACTED]. Exit 1 when a centre
    gave none."""
    if local:
        path = diagnose_here(out_dir)
        if json:
            print_json({"written": {"local": str(path)}, "failed": {}})
        else:
            out.print(f"written {path}")
        return
    if plan is None:
        raise InputError.single("PLAN", "give the plan (or --local for this machine)")
    need_inventory(via, inventory)
    loaded = load_plan(plan)
    secrets = resolve_secrets(loaded.secrets, plan.parent, vault_password_file)
    journal = Journal(state_dir() / "journal.sqlite")
    try:
        applied, verified = journal.last_per_centre(APPLIED), journal.last_per_centre(("verify",))
    finally:
        journal.close()
    runs = {
        c.id: {
            "apply": vars(applied[c.id]) if c.id in applied else None,
            "verify": vars(verified[c.id]) if c.id in verified else None,
        }
        for c in loaded.centres
    }
    result = diagnose_centres(
        loaded, inventory, state_dir() / "runs" / f"diagnose-{time.strftime('%Y%m%d-%H%M%S')}",
        out_dir, secrets=secrets, runs=runs, via=via,
        limit=set(limit.split(",")) if limit else None,
    )  # fmt: skip
    if json:
        print_json(
            {"written": {c: str(p) for c, p in result.written.items()}, "failed": result.failed}
        )
    else:
        for centre, path in result.written.items():
            out.print(f"{centre}: {path}")
        for centre, why in result.failed.items():
            err.print(f"{centre}: no archive: {why}")
    if result.failed:
        raise typer.Exit(RC.FAILED)
