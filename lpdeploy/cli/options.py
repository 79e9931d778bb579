"""Options shared by several commands."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from lpdeploy.errors import InputError
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


Via = Annotated[
    str | None,
    typer.Option(
        help="Run through this regional hub (a host of --inventory, prepared with `lpdeploy "
        "hub prepare`): Ansible runs there, near the centres, and reports back here.",
    ),
]


def need_inventory(via: str | None, inventory: Path | None) -> None:
    """--via names a host of the inventory, so it needs one."""
    if via is not None and inventory is None:
        raise InputError.single("--via", "give --inventory: it names the hub and the centres")
