"""`lpdeploy rollback PLAN [--to RUN]`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from lpdeploy.apply.rollback import RollbackTarget, rollback_target
from lpdeploy.cli.apply import (
    Inventory,
    Limit,
    TrustedKeys,
    VaultPasswordFile,
    report_apply,
    run_apply,
)
from lpdeploy.cli.options import CatalogDir, Json, Via, catalog_path, need_inventory
from lpdeploy.journal import Journal
from lpdeploy.output import canonical_json, write_atomic
from lpdeploy.plan.load import load_plan
from lpdeploy.secrets import resolve_secrets
from lpdeploy.settings import state_dir
from lpdeploy.ui.console import err

To = Annotated[
    int | None,
    typer.Option(
        help="The run to go back to (see `lpdeploy status`) [default: the last successful "
        "apply of another plan of this name]",
        show_default=False,
    ),
]
Out = Annotated[
    Path | None, typer.Option(help="Write the plan rolled back to here (for `verify`).")
]


def rollback(
    plan: Annotated[Path, typer.Argument(help="The plan applied now (JSON).", show_default=False)],
    to: To = None,
    inventory: Inventory = None,
    limit: Limit = None,
    catalog: CatalogDir = None,
    trusted_key: TrustedKeys = None,
    vault_password_file: VaultPasswordFile = None,
    via: Via = None,
    out: Out = None,
    json: Json = False,
) -> None:
    """Bring the centres back to the desired state of an earlier successful run.

    A bundle version the servers kept (the plan's `keep`) is switched back to in one
    rename, with no transfer; one they had no room for is sent again from the catalog.
    The journal and `status` record the run as a rollback.
    """
    need_inventory(via, inventory)
    current = load_plan(plan)
    journal = Journal(state_dir() / "journal.sqlite")
    try:
        target = rollback_target(journal, current, to)
    finally:
        journal.close()
    if out is not None:
        write_atomic(out, canonical_json(target.plan))
    if not json:
        _say_moves(target)
    report_apply(
        lambda: run_apply(
            target.plan,
            secrets=resolve_secrets(target.plan.secrets, plan.parent, vault_password_file),
            catalog=catalog_path(catalog),
            inventory=inventory,
            limit=set(limit.split(",")) if limit else None,
            trusted_key=trusted_key,
            quiet=json,
            via=via,
            rollback_to=target.run_id,
        ),
        json,
        {
            "rollback": {
                "to_run": target.run_id,
                "switched": target.switched,
                "transferred": target.transferred,
            }
        },
    )


def _say_moves(target: RollbackTarget) -> None:
    err.print(f"Rolling back to run {target.run_id}")
    for centre in sorted(target.switched.keys() | target.transferred.keys()):
        switched = target.switched.get(centre, [])
        sent = target.transferred.get(centre, [])
        parts = ([f"switches back to kept {', '.join(switched)}"] if switched else []) + (
            [f"gets {', '.join(sent)} by transfer (the server had no room to keep it)"]
            if sent
            else []
        )
        err.print(f"  {centre}: {'; '.join(parts)}")
