"""`lpdeploy rehearse PROFILE`: lab up, plan, apply, verify, in one go (the demo)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from lpdeploy.catalog import load_catalog
from lpdeploy.cli.apply import VaultPasswordFile, result_document, run_apply
from lpdeploy.cli.lab import LabName
from lpdeploy.cli.options import CatalogDir, Json, catalog_path
from lpdeploy.cli.verify import run_verify
from lpdeploy.errors import RC
from lpdeploy.lab.emulation import machine_arch
from lpdeploy.lab.fleet import Lab
from lpdeploy.output import canonical_json, write_atomic
from lpdeploy.plan import build_plan
from lpdeploy.plan.rehearsal import rehearsal_plan, without_hubs
from lpdeploy.profile import load_profile
from lpdeploy.secrets import resolve_secrets
from lpdeploy.settings import state_dir
from lpdeploy.ui.console import err, out, print_json
from lpdeploy.ui.plan import show_plan
from lpdeploy.ui.progress import show_result
from lpdeploy.ui.readiness import report_html, show_report


def rehearse(
    profile: Annotated[Path, typer.Argument(help="Crisis profile (YAML).", show_default=False)],
    catalog: CatalogDir = None,
    lab: LabName = "main",
    vault_password_file: VaultPasswordFile = None,
    emulated: Annotated[
        int | None,
        typer.Option(
            min=0,
            help="Emulate at most N of the centres whose servers are of another architecture "
            "than this machine's (arm64 on an amd64 machine: slow); the others are rehearsed "
            "on servers of this machine's architecture, as if their hardware were [default: "
            "all]",
        ),
    ] = None,
    json: Json = False,
) -> None:
    """Bring up a lab server per centre, plan, apply, and verify: a full rehearsal.
    Exits with verify's code (1 when a centre is not ready), or 1 when apply failed."""
    loaded = load_profile(profile)
    secrets = resolve_secrets(loaded.profile.secrets, profile.parent, vault_password_file)
    source = catalog_path(catalog)
    planned = build_plan(loaded, load_catalog(source))
    if planned.hubs:
        err.print(
            f"rehearsing without the plan's hubs ({', '.join(h.id for h in planned.hubs)}): "
            "every centre is reached "
            "directly (docs/hub.md rehearses hubs: lab up --plan, hub prepare, apply)"
        )
    plan, native = rehearsal_plan(without_hubs(planned), machine_arch(), emulated)
    rehearsals = state_dir() / "rehearsals"
    plan_path = rehearsals / f"{plan.profile.name}.json"
    report_path = rehearsals / f"{plan.profile.name}.html"
    write_atomic(plan_path, canonical_json(plan))
    if not json:
        show_plan(plan)
    if native:
        err.print(
            f"rehearsing {', '.join(native)} on {machine_arch()} servers, as if their hardware "
            f"were (--emulated {emulated})"
        )
    fleet = Lab(lab)
    arches: dict[str, str] = {centre.id: centre.arch for centre in plan.centres}
    foreign = sum(1 for arch in arches.values() if arch != machine_arch())
    emulating = f" ({foreign} emulated)" if foreign else ""
    err.print(f"lab '{lab}': bringing up {len(plan.centres)} servers{emulating}...")
    state = fleet.up(list(arches), arches=arches)
    result = run_apply(plan, catalog=source, inventory=fleet.inventory, quiet=json, secrets=secrets)
    if not json:
        show_result(result)
    err.print("verifying every centre...")
    report = run_verify(plan, catalog=source, inventory=fleet.inventory)
    write_atomic(report_path, report_html(report).encode("utf-8"))
    addresses = {host.id: host.address for host in state.hosts}
    if json:
        print_json(
            result_document(result)
            | {
                "plan": str(plan_path),
                "inventory": str(fleet.inventory),
                "addresses": addresses,
                "summary": plan.summary.model_dump(mode="json"),
                "ready": report.ready,
                "readiness": report.model_dump(mode="json"),
                "report": str(report_path),
                "rehearsed_native": native,
            }
        )
    else:
        show_report(report)
        out.print(f"plan {plan_path}")
        out.print(f"report {report_path}")
        width = max(len(centre.id) for centre in plan.centres)
        for centre in plan.centres:
            address = addresses[centre.id]
            kiwix = f"   kiwix http://{address}/kiwix/" if "kiwix" in centre.services else ""
            out.print(f"  {centre.id:<{width}}   portal http://{address}/{kiwix}")
        out.print(f"take the lab down with: lpdeploy lab down --lab {lab}")
    if not (result.ok and report.ready):
        raise typer.Exit(RC.FAILED)
