"""Rendering of plans and plan differences."""

from __future__ import annotations

from rich.table import Table

from lpdeploy.plan import Plan
from lpdeploy.plan.diff import PlanDiff
from lpdeploy.ui.console import out, size
from lpdeploy.ui.tables import identity_column


def show_plan(plan: Plan) -> None:
    summary = plan.summary
    out.print(
        f"[bold]Plan for {plan.profile.name}[/]: {summary.centres} centres, "
        f"{summary.learners} learners, {summary.waves} waves"
    )
    transfer = summary.transfer
    how = "by field kit" if transfer.method == "field-kit" else "over the network"
    eta = f", about {_duration(transfer.seconds)}" if transfer.seconds is not None else ""
    out.print(
        f"  {summary.bundles_unique} distinct bundles ({size(summary.bytes_unique)}); "
        f"{size(transfer.bytes)} to deliver {how}{eta}"
    )
    rollout = summary.rollout
    if rollout is not None:
        courier = (
            f", {_duration(rollout.courier_seconds)} of it by courier"
            if rollout.courier_seconds
            else ""
        )
        out.print(
            f"  the rollout should take about {_duration(rollout.seconds)}{courier}; "
            f"bottleneck: {rollout.bottleneck}"
        )
        if len(rollout.routes) > 1:
            for route in rollout.routes:
                via = "directly" if route.via == "controller" else f"through hub {route.via}"
                centres = f"{route.centres} centre{'s' if route.centres != 1 else ''}"
                out.print(
                    f"    {centres} {via}: {size(route.bytes)}, about "
                    f"{_duration(route.seconds)} ({route.bottleneck})"
                )
    table = Table("wave")
    identity_column(table, "centre", (c.id for c in plan.centres))
    if plan.hubs:
        identity_column(table, "hub", (c.hub or "-" for c in plan.centres))
    identity_column(table, "hardware", (c.hardware for c in plan.centres))
    for header in ("arch", "learners", "bundles", "used / budget", "not fitted"):
        table.add_column(header)
    for centre in plan.centres:
        table.add_row(
            str(centre.wave),
            centre.id,
            *([centre.hub or "-"] if plan.hubs else []),
            centre.hardware,
            centre.arch,
            str(centre.learners),
            str(len(centre.bundles)) if centre.bundles else "[red]none[/]",
            f"{size(centre.bytes_total)} / {size(centre.storage_budget_bytes)}",
            str(len(centre.skipped)) if centre.skipped else "",
        )
    out.print(table)
    if plan.warnings:
        out.print(f"[bold yellow]{len(plan.warnings)} warnings[/]")
        for warning in plan.warnings:
            where = f" {warning.centre}:" if warning.centre else ""
            out.print(f"  [yellow]{warning.code}[/]{where} {warning.message}")


def show_diff(diff: PlanDiff) -> None:
    if diff.empty:
        out.print("The plans deliver the same bundles to the same centres.")
        return
    for cid in diff.centres_added:
        out.print(f"[green]+ centre {cid}[/]")
    for cid in diff.centres_removed:
        out.print(f"[red]- centre {cid}[/]")
    for change in diff.centres_changed:
        out.print(f"[bold]~ centre {change.id}[/]")
        for bid in change.bundles_added:
            out.print(f"    [green]+ {bid}[/]")
        for bid in change.bundles_removed:
            out.print(f"    [red]- {bid}[/]")
        for update in change.bundles_updated:
            out.print(f"    ~ {update.id} {update.old} -> {update.new}")
        for moved in change.moved:
            out.print(f"    ~ {moved}")


def _duration(seconds: float) -> str:
    hours, rest = divmod(int(seconds), 3600)
    if hours >= 48:
        return f"{hours / 24:.1f} days"
    return f"{hours} h {rest // 60} min" if hours else f"{max(1, rest // 60)} min"
