"""`lpdeploy preflight PLAN` and `lpdeploy trust INVENTORY`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from lpdeploy.cli.options import Json
from lpdeploy.connect import pinned_files
from lpdeploy.errors import RC, InputError
from lpdeploy.inventory.connections import centre_connections
from lpdeploy.inventory.skeleton import refuse_placeholders
from lpdeploy.plan.load import load_plan
from lpdeploy.preflight import preflight
from lpdeploy.runner.inventory import inventory_connections
from lpdeploy.settings import state_dir
from lpdeploy.trust import fetch_keys, load_pinned, pin, standing
from lpdeploy.ui.console import err, out, print_json
from lpdeploy.ui.readiness import show_report


def preflight_command(
    plan: Annotated[Path, typer.Argument(help="Plan file (JSON).", show_default=False)],
    inventory: Annotated[
        Path | None, typer.Option(help="Ansible inventory naming the centres.")
    ] = None,
    json: Json = False,
) -> None:
    """Check each centre's server before a rollout: reachable, pinned host key, login, disk
    for the planned bundles, platform. Exit 0 when all pass, 1 otherwise."""
    loaded = load_plan(plan)
    connections = centre_connections(loaded, inventory, state_dir() / "cache")
    report = preflight(loaded, connections, pinned_files(connections.values()))
    if json:
        print_json(report)
    else:
        show_report(report, verdict="passed pre-flight")
    if not report.ready:
        raise typer.Exit(RC.FAILED)


def trust(
    inventory: Annotated[Path, typer.Argument(help="Ansible inventory.", show_default=False)],
    yes: Annotated[bool, typer.Option("--yes", help="Pin new keys without asking.")] = False,
    json: Json = False,
) -> None:
    """Fetch each server's host key, show its fingerprint and pin it once confirmed.

    A key that differs from the one pinned is refused, never replaced. Exit 0 when every
    server's key is pinned, 1 otherwise.
    """
    connections = inventory_connections(inventory, state_dir() / "cache")
    if not connections:
        raise InputError.single(str(inventory), "no hosts in this inventory")
    refuse_placeholders(connections, str(inventory))
    target = state_dir() / "known_hosts"
    files = pinned_files(connections.values())
    pinned = load_pinned(files)
    rows = []
    for offered in fetch_keys(sorted(connections.values(), key=lambda c: c.host)):
        if offered.key is None:
            state, said = "unreachable", offered.problem
        else:
            state = standing(offered, pinned)
            said = offered.fingerprint
            if state == "changed":
                said = (
                    f"offers {offered.fingerprint}, not the key pinned for {offered.name}: "
                    "refused. Check why the server changed (reinstalled? another machine at "
                    "this address?), then remove its old line by hand from the known_hosts "
                    f"that holds it ({', '.join(map(str, files))})"
                )
            elif state == "new":
                ask = f"{offered.host} ({offered.name}) offers {offered.fingerprint}. Pin it?"
                if yes or (not json and typer.confirm(ask, err=True)):
                    pin(target, offered)
                    state = "pinned-now"
                else:
                    state, said = "declined", f"not pinned: {offered.fingerprint}"
        rows.append({"host": offered.host, "name": offered.name, "state": state, "detail": said})
    ok = all(r["state"] in ("pinned", "pinned-now") for r in rows)
    if json:
        print_json({"ok": ok, "known_hosts": str(target), "hosts": rows})
    else:
        for row in rows:
            style = "green" if row["state"] in ("pinned", "pinned-now") else "red"
            out.print(f"[{style}]{row['host']}: {row['state']}[/] {row['detail']}")
        err.print(f"known_hosts: {target}")
    if not ok:
        raise typer.Exit(RC.FAILED)
