"""`lpdeploy preflight PLAN` and `lpdeploy trust INVENTORY`."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from lpdeploy.cli.options import Json
from lpdeploy.connect import Connection, known_name, pinned_files
from lpdeploy.errors import RC, InputError, NotRightError
from lpdeploy.inventory.connections import centre_connections
from lpdeploy.inventory.skeleton import refuse_placeholders
from lpdeploy.plan.load import load_plan
from lpdeploy.preflight import preflight
from lpdeploy.runner.hub import Hub, hub_from
from lpdeploy.runner.inventory import inventory_connections
from lpdeploy.settings import state_dir
from lpdeploy.trust import Offered, fetch_keys, load_pinned, pin, standing
from lpdeploy.ui.console import err, out, print_json
from lpdeploy.ui.readiness import show_report

if TYPE_CHECKING:
    import paramiko


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
    via: Annotated[
        str | None,
        typer.Option(
            help="Reach the hosts through this hub (a host of the inventory): its own key is "
            "fetched directly and pinned first, the others' through SSH channels it opens.",
        ),
    ] = None,
    limit: Annotated[
        str | None, typer.Option(help="Only these hosts (comma-separated inventory names).")
    ] = None,
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
    hub = hub_from(via, connections) if via is not None else None
    chosen = _chosen(connections, limit, via)
    target = state_dir() / "known_hosts"
    files = pinned_files(connections.values())
    judge = partial(_judge, pinned=load_pinned(files), files=files, target=target,
                    ask=not yes and not json, pin_new=yes)  # fmt: skip
    if hub is None:
        rows = [judge(o) for o in fetch_keys(sorted(chosen, key=lambda c: c.host))]
    else:
        first = judge(fetch_keys([hub.connection])[0])
        rows = [first, *_through(hub, first["state"], sorted(chosen, key=lambda c: c.host), judge)]
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


def _chosen(
    connections: dict[str, Connection], limit: str | None, via: str | None
) -> list[Connection]:
    """The hosts --limit names (all, without it), the hub of --via aside."""
    names = [n.strip() for n in limit.split(",") if n.strip()] if limit else list(connections)
    unknown = [n for n in names if n not in connections]
    if unknown:
        raise InputError.single(
            "--limit", f"not hosts of the inventory: {', '.join(unknown)}", "--limit"
        )
    return [connections[n] for n in names if n != via]


def _through(
    hub: Hub, standing_of_hub: str, chosen: list[Connection], judge: Callable[[Offered], Row]
) -> list[Row]:
    """The chosen hosts' keys, fetched through the hub once its own key is pinned."""
    if standing_of_hub not in ("pinned", "pinned-now"):
        why = f"not reached: hub {hub.name}'s own key is not pinned"
        return [{"host": c.host, "name": known_name(c), "state": "unreachable", "detail": why}
                for c in chosen]  # fmt: skip
    try:
        with hub.tunnel() as through_hub:
            return [judge(o) for o in fetch_keys(chosen, through_hub)]
    except NotRightError as exc:
        return [{"host": c.host, "name": known_name(c), "state": "unreachable",
                 "detail": str(exc)} for c in chosen]  # fmt: skip


Row = dict[str, str]


def _judge(
    offered: Offered,
    pinned: paramiko.HostKeys,
    files: list[Path],
    target: Path,
    ask: bool,
    pin_new: bool,
) -> Row:
    """One host's row: its key's standing, pinned now when new and confirmed."""
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
            question = f"{offered.host} ({offered.name}) offers {offered.fingerprint}. Pin it?"
            if pin_new or (ask and typer.confirm(question, err=True)):
                pin(target, offered)
                pinned.add(offered.name, offered.key.get_name(), offered.key)
                state = "pinned-now"
            else:
                state, said = "declined", f"not pinned: {offered.fingerprint}"
    return {"host": offered.host, "name": offered.name, "state": state, "detail": said}
