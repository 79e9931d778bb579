"""`lpdeploy kit packages`: the offline Debian repository for the servers."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from lpdeploy.cli.options import Json
from lpdeploy.kit.packages import package_repo
from lpdeploy.lab.fleet import CACHE
from lpdeploy.ui.console import out, print_json, size

app = typer.Typer(no_args_is_help=True, help="What a rollout needs offline.")


@app.command()
def packages(
    folder: Annotated[Path, typer.Option("--out", help="Folder for the repository.")],
    json: Json = False,
) -> None:
    """Resolve and download the servers' Debian packages into a local repository."""
    repo = package_repo(folder, CACHE)
    debs = sorted(repo.folder.glob("*.deb"))
    total = sum(deb.stat().st_size for deb in debs)
    if json:
        print_json(
            {
                "folder": str(repo.folder),
                "key": repo.key,
                "archive": str(repo.archive),
                "packages": list(repo.packages),
                "debs": len(debs),
                "bytes": total,
            }
        )
    else:
        out.print(
            f"{repo.folder}: {len(debs)} packages, {size(total)} (archive {repo.archive.name})"
        )
