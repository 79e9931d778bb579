"""`lpdeploy hub prepare HUB`: make a regional hub ready to run rollouts near its centres."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from lpdeploy.bundle.keys import load_public_key
from lpdeploy.cli.options import Json
from lpdeploy.connect import pinned_files, server_arch
from lpdeploy.errors import RC, InputError, NotRightError
from lpdeploy.kit import manifest as m
from lpdeploy.kit.build import wheel_machines
from lpdeploy.kit.verify import checked_kit
from lpdeploy.lab.emulation import QEMU
from lpdeploy.runner.hub import VENV
from lpdeploy.runner.inventory import inventory_connections
from lpdeploy.runner.reduce import reduce_events
from lpdeploy.runner.run import run_to_end
from lpdeploy.runner.spec import build_spec
from lpdeploy.settings import state_dir, trusted_keys_dir
from lpdeploy.ui.console import err, out, print_json

app = typer.Typer(no_args_is_help=True, help="A regional hub that runs rollouts near its centres.")


@app.command()
def prepare(
    hub: Annotated[str, typer.Argument(help="The hub, as the inventory names it.")],
    kit: Annotated[Path, typer.Option(help="Field kit to install from (verified first).")],
    inventory: Annotated[Path, typer.Option(help="Ansible inventory naming the hub.")],
    trusted_key: Annotated[
        list[Path] | None,
        typer.Option(help="Public key trusted to sign the kit [default: bundles/keys/*.pub]"),
    ] = None,
    json: Json = False,
) -> None:
    """Install what the hub needs, from the kit only: rsync and python3-venv from its package
    repository, then lpdeploy, ansible-runner and ansible-core from its wheels, in
    /opt/lpdeploy-hub. Exit 0 when the hub can run jobs, 1 otherwise; again is a no-op."""
    keys = trusted_key if trusted_key is not None else sorted(trusted_keys_dir().glob("*.pub"))
    manifest = checked_kit(kit, [load_public_key(k) for k in keys], "nothing was installed")
    wheels = kit / m.WHEELS
    if not any(wheels.glob("lpdeploy-*.whl")):
        raise InputError.single(
            str(kit), "the kit has no wheels (it was built with --no-wheels)", "--kit"
        )
    home = state_dir()
    connections = inventory_connections(inventory, home / "cache")
    if hub not in connections:
        raise InputError.single(str(inventory), f"no host {hub!r} in this inventory", "HUB")
    pinned = pinned_files([connections[hub]])
    arch = server_arch(connections[hub], pinned)
    repos = manifest.repository_keys()
    if arch not in repos or QEMU.get(arch, arch) not in wheel_machines(wheels):
        raise NotRightError(
            f"the kit carries no packages or wheels for hub {hub}, an {arch} server (it holds "
            f"{', '.join(sorted(repos))} packages): build it with `lpdeploy kit build "
            f"--hub-arch {arch}`; nothing was installed"
        )
    archive = kit / m.PACKAGES / f"packages-{repos[arch]}.tar"
    spec = build_spec(
        home / "runs" / time.strftime("%Y%m%d-%H%M%S-hub"),
        inventory,
        playbook=kit / m.PLAYBOOKS / "hub.yml",
        limit=hub,
        extravars={
            "lpdeploy_hub_archive": str(archive.resolve()),
            "lpdeploy_repo_key": repos[arch],
            "lpdeploy_hub_wheels": str(wheels.resolve()),
        },
        known_hosts=pinned,
    )
    err.print(f"preparing hub {hub} from kit {kit}...")
    state = reduce_events(run_to_end(spec))
    progress = state.hosts.get(hub)
    ok = state.complete and progress is not None and progress.outcome in ("ok", "changed")
    message = progress.message if progress else "Ansible did not reach it"
    if json:
        print_json({"hub": hub, "ok": ok, "changed": progress.changed if progress else 0,
                    "message": "" if ok else message, "venv": VENV})  # fmt: skip
    elif ok:
        out.print(f"hub {hub} ready: {VENV} ({progress.changed if progress else 0} changed)")
    else:
        err.print(f"error: hub {hub} not prepared: {message}")
    if not ok:
        raise typer.Exit(RC.FAILED)
