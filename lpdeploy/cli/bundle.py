"""`lpdeploy bundle build|verify`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from lpdeploy.bundle.build import build_bundle
from lpdeploy.bundle.keys import load_public_key
from lpdeploy.bundle.verify import verify_bundle
from lpdeploy.cli.options import Json
from lpdeploy.errors import RC
from lpdeploy.ui.bundle import show_built, show_verdict
from lpdeploy.ui.console import print_json

app = typer.Typer(no_args_is_help=True, help="Build and verify course bundles.")


@app.command()
def build(
    source: Annotated[
        Path, typer.Argument(help="Folder with bundle.yaml and content/.", show_default=False)
    ],
    out: Annotated[Path, typer.Option("--out", help="Folder to write <id>-<version>/ into.")],
    sign_key: Annotated[
        Path | None, typer.Option(help="Private key that signs the manifest.")
    ] = None,
    json: Json = False,
) -> None:
    """Make a bundle from a folder holding content/ and a bundle.yaml with its metadata."""
    built = build_bundle(source, out, sign_key)
    if json:
        print_json(
            {
                "bundle": built.manifest.name,
                "path": str(built.path),
                "files": len(built.manifest.files),
                "size_bytes": built.manifest.size_bytes,
                "signed": built.signed,
                "unchanged": built.unchanged,
            }
        )
    else:
        show_built(built)


@app.command()
def verify(
    bundle: Annotated[Path, typer.Argument(help="Bundle folder.", show_default=False)],
    trusted_key: Annotated[
        list[Path] | None,
        typer.Option(help="Public key whose signature is trusted (repeatable)."),
    ] = None,
    json: Json = False,
) -> None:
    """Check a bundle's files, sizes, hashes and signature. Exit 1 when tampered with."""
    keys = [load_public_key(path) for path in trusted_key or []]
    verdict = verify_bundle(bundle, keys)
    if json:
        print_json(verdict)
    else:
        show_verdict(verdict)
    if not verdict.ok:
        raise typer.Exit(RC.FAILED)
