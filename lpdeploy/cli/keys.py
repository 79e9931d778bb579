"""`lpdeploy keys generate`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from lpdeploy.bundle.keys import generate_keys
from lpdeploy.cli.options import Json
from lpdeploy.ui.console import out, print_json

app = typer.Typer(no_args_is_help=True, help="Make keys that sign bundles.")


@app.command()
def generate(
    folder: Annotated[Path, typer.Option("--out", help="Folder for the key pair.")],
    name: Annotated[str, typer.Option(help="Name of the key files.")] = "lpdeploy",
    json: Json = False,
) -> None:
    """Make an ed25519 key pair: NAME.key (private, mode 0600) and NAME.pub."""
    private, public, fingerprint = generate_keys(folder, name)
    if json:
        print_json(
            {"private_key": str(private), "public_key": str(public), "fingerprint": fingerprint}
        )
    else:
        out.print(f"private key {private} (keep it secret)")
        out.print(f"public key  {public}\nfingerprint {fingerprint}")
