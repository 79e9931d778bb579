"""Options shared by several commands."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from lpdeploy.settings import default_catalog

Json = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")]
CatalogDir = Annotated[
    Path | None,
    typer.Option(
        "--catalog",
        help="Catalog folder or catalog.json [default: $LPDEPLOY_CATALOG or the repo's bundles/]",
        show_default=False,
    ),
]


def catalog_path(given: Path | None) -> Path:
    return given if given is not None else default_catalog()
