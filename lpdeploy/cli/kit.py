"""`lpdeploy kit packages|build|verify`: what a rollout needs offline, on one drive."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Annotated, get_args

import typer

from lpdeploy.apply.rollout import check_bundles
from lpdeploy.bundle.keys import load_private_key, load_public_key
from lpdeploy.catalog import load_catalog
from lpdeploy.cli.options import CatalogDir, Json, catalog_path
from lpdeploy.errors import RC, InputError, NotRightError
from lpdeploy.journal import Journal
from lpdeploy.kit.build import (
    KitBuild,
    add_wheels,
    build_wheels,
    kit_sources,
    plan_kit,
    write_kit,
)
from lpdeploy.kit.manifest import MANIFEST, copy_seconds
from lpdeploy.kit.packages import package_repo, package_repos
from lpdeploy.kit.verify import verify_kit
from lpdeploy.lab.fleet import CACHE
from lpdeploy.plan.load import load_plan
from lpdeploy.profile.hardware import Arch
from lpdeploy.settings import playbooks_dir, state_dir
from lpdeploy.ui.bundle import show_problems
from lpdeploy.ui.console import err, out, print_json, size

app = typer.Typer(no_args_is_help=True, help="What a rollout needs offline.")
TrustedKeys = Annotated[
    list[Path] | None, typer.Option(help="Public key whose signature is trusted (repeatable).")
]
SIZE = re.compile(r"(?i)^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)b?\s*$")


@app.command()
def packages(
    folder: Annotated[Path, typer.Option("--out", help="Folder for the repository.")],
    arch: Annotated[
        Arch | None, typer.Option(help="Servers' architecture [default: this machine's]")
    ] = None,
    json: Json = False,
) -> None:
    """Resolve and download the servers' Debian packages into a local repository."""
    repo = package_repo(folder, CACHE, arch)
    debs = sorted(repo.folder.glob("*.deb"))
    total = sum(deb.stat().st_size for deb in debs)
    if json:
        print_json(
            {
                "folder": str(repo.folder),
                "key": repo.key,
                "arch": repo.arch,
                "archive": str(repo.archive),
                "packages": list(repo.packages),
                "versions": repo.versions,
                "debs": len(debs),
                "bytes": total,
            }
        )
    else:
        out.print(
            f"{repo.folder}: {len(debs)} {repo.arch} packages, {size(total)} "
            f"(archive {repo.archive.name})"
        )


@app.command()
def build(
    plan: Annotated[Path, typer.Argument(help="Plan file (JSON).", show_default=False)],
    folder: Annotated[Path, typer.Option("--out", help="Kit folder (on the drive).")],
    base: Annotated[
        Path | None, typer.Option(help="An older kit: what it holds is linked, not copied.")
    ] = None,
    sign_key: Annotated[Path | None, typer.Option(help="Private key that signs kit.json.")] = None,
    drive_size: Annotated[
        str | None, typer.Option(help="Refuse up front if the kit will not fit (e.g. 32G).")
    ] = None,
    wheels: Annotated[
        bool, typer.Option(help="Include wheels of lpdeploy and its dependencies.")
    ] = True,
    hub_arch: Annotated[
        list[str] | None,
        typer.Option(
            metavar="ARCH",
            help="Also carry what a hub of this architecture needs: its packages and wheels "
            "[default: the centres' architectures, and this machine's wheels]",
        ),
    ] = None,
    catalog: CatalogDir = None,
    trusted_key: TrustedKeys = None,
    json: Json = False,
) -> None:
    """Write a field kit: the plan, its bundles (each verified), the servers' packages,
    the playbooks and lpdeploy's wheels, with a signed manifest. Sizes and copy times are
    printed before anything is written."""
    drive = _bytes(drive_size) if drive_size else None
    for arch in hub_arch or []:
        if arch not in get_args(Arch):
            raise InputError.single("--hub-arch", f"expected amd64 or arm64, got {arch!r}")
    _writable_kit_folder(folder)
    if sign_key is not None:
        load_private_key(sign_key)  # a wrong key is said now, not after minutes of hashing
    loaded = load_plan(plan)
    source = load_catalog(catalog_path(catalog))
    trusted = [load_public_key(k) for k in trusted_key or []]
    check_bundles(loaded, source, trusted, refused="no kit was written")
    arches = {centre.arch for centre in loaded.centres} | set(hub_arch or [])
    repos = package_repos(state_dir() / "packages", CACHE, arches)
    wheel_dir = build_wheels(state_dir() / "cache") if wheels else None
    if wheel_dir is not None:
        for arch in hub_arch or []:
            add_wheels(wheel_dir, arch)
    sources = kit_sources(plan, loaded, source, repos, playbooks_dir(), wheel_dir)
    planned = plan_kit(sources, folder.resolve(), base.resolve() if base else None)
    _fits(planned, drive)
    repo_bytes = {arch: repo.archive.stat().st_size for arch, repo in repos.items()}
    if not json:
        _announce(planned, repo_bytes)
    manifest = write_kit(planned, loaded, {a: r.key for a, r in repos.items()}, sign_key)
    journal = Journal(state_dir() / "journal.sqlite")  # headquarters knows the plan it shipped
    try:
        run_id = journal.start_run("kit", loaded.profile.name, loaded.profile.sha256)
        journal.finish_run(run_id, "ok")
    finally:
        journal.close()
    document = {
        "kit": str(planned.out),
        "plan": manifest.plan.name,
        "files": len(manifest.files),
        "bytes": planned.total,
        "bytes_written": planned.new_bytes,
        "bytes_reused": planned.total - planned.new_bytes,
        "copy_seconds": copy_seconds(planned.new_bytes),
        "packages": {a: {"key": r.key, "bytes": repo_bytes[a]} for a, r in repos.items()},
        "signed": sign_key is not None,
    }
    if json:
        print_json(document)
    else:
        out.print(f"[green]kit written[/]: {planned.out} ({len(manifest.files)} files)")


@app.command()
def verify(
    folder: Annotated[Path, typer.Argument(help="Kit folder.", show_default=False)],
    trusted_key: TrustedKeys = None,
    json: Json = False,
) -> None:
    """Check every file of a kit against its manifest, and the manifest's signature.
    Exit 0 when intact, 1 when something is missing, extra or changed, 2 when unreadable."""
    verdict, _ = verify_kit(folder, [load_public_key(k) for k in trusted_key or []])
    if json:
        print_json(verdict)
    elif verdict.ok:
        out.print(
            f"[green]{verdict.kit}: intact[/] (plan {verdict.plan}, {verdict.files} files, "
            f"{size(verdict.bytes)}; signature {verdict.signature})"
        )
    else:
        out.print(f"[red]{verdict.kit}: {len(verdict.problems)} problems[/]")
        show_problems(verdict.problems)
    if not verdict.ok:
        raise typer.Exit(RC.FAILED)


def _writable_kit_folder(folder: Path) -> None:
    """A kit is written into a new or empty folder, or over an older kit: never into a
    folder of other files (the drive's root), which updating would delete."""
    if folder.exists() and not folder.is_dir():
        raise InputError.single(str(folder), "exists and is not a folder", "--out")
    if folder.is_dir() and any(folder.iterdir()) and not (folder / MANIFEST).is_file():
        raise InputError.single(
            str(folder), "holds other files and no kit.json; give a new or empty folder "
            "(e.g. a kit/ folder on the drive)", "--out",
        )  # fmt: skip


def _bytes(text: str) -> int:
    found = SIZE.match(text)
    if not found:
        raise InputError.single("--drive-size", f"expected a size like 32G or 500M, got {text!r}")
    power = " kmgt".index(found.group(2).lower() or " ")
    return int(float(found.group(1)) * 1000**power)


def _fits(planned: KitBuild, drive: int | None) -> None:
    """Refuse before writing: larger than the drive, or than the free space there."""
    need = planned.total if drive is not None else planned.new_bytes
    if drive is not None and planned.total > drive:
        raise NotRightError(
            f"the kit needs {size(planned.total)}; a {size(drive)} drive cannot hold it"
        )
    where = next((p for p in [planned.out, *planned.out.parents] if p.exists()), Path("/"))
    free = shutil.disk_usage(where).free
    if planned.new_bytes > free:
        raise NotRightError(
            f"the kit needs {size(need)} more on {where}, which has {size(free)} free"
        )


def _announce(planned: KitBuild, repo_bytes: dict[str, int]) -> None:
    times = ", ".join(f"{drive} ~{secs:.0f} s" for drive, secs in
                      copy_seconds(planned.new_bytes).items())  # fmt: skip
    reused = planned.total - planned.new_bytes
    err.print(
        f"kit {size(planned.total)} in {len(planned.files)} files: {size(planned.new_bytes)} "
        f"to write, {size(reused)} already held; expected copy time {times}"
    )
    for arch, held in repo_bytes.items():
        err.print(f"  packages for {arch} servers: {size(held)}")
