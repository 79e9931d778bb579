"""`lpdeploy catalog list`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from lpdeploy.catalog import load_catalog
from lpdeploy.catalog.load import matches, write_index
from lpdeploy.cli.options import CatalogDir, Json, catalog_path
from lpdeploy.ui.catalog import show_catalog
from lpdeploy.ui.console import out, print_json

app = typer.Typer(no_args_is_help=True, help="Look into catalogs of course bundles.")


@app.command("list")
def list_bundles(
    catalog: CatalogDir = None,
    language: Annotated[str | None, typer.Option(help="Only bundles in this language.")] = None,
    subject: Annotated[str | None, typer.Option(help="Only bundles on this subject.")] = None,
    json: Json = False,
) -> None:
    """List the bundles of a catalog."""
    loaded = load_catalog(catalog_path(catalog))
    bundles = [b for b in loaded.bundles if matches(b, language, subject)]
    if json:
        print_json(
            {
                "catalog": str(loaded.root),
                "sha256": loaded.sha256,
                "bundles": [b.model_dump(mode="json", exclude={"files"}) for b in bundles],
            }
        )
    else:
        show_catalog(bundles)


@app.command()
def index(
    folder: Annotated[Path, typer.Argument(help="Catalog folder to index.", show_default=False)],
    json: Json = False,
) -> None:
    """Write FOLDER/catalog.json, the manifests of every bundle under FOLDER."""
    path = write_index(folder)
    bundles = len(load_catalog(path).bundles)
    if json:
        print_json({"catalog": str(path), "bundles": bundles})
    else:
        out.print(f"{path}: {bundles} bundles")
