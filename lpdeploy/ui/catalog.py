"""Rendering of a catalog listing."""

from __future__ import annotations

from collections.abc import Sequence

from rich.table import Table

from lpdeploy.bundle.manifest import BundleManifest
from lpdeploy.ui.console import out, size
from lpdeploy.ui.tables import identity_column


def show_catalog(bundles: Sequence[BundleManifest]) -> None:
    table = Table()
    identity_column(table, "bundle", (b.id for b in bundles))
    for header in ("version", "kind", "languages", "subjects", "ages", "size"):
        table.add_column(header)
    for bundle in bundles:
        table.add_row(
            bundle.id,
            bundle.version,
            bundle.kind,
            ", ".join(bundle.languages),
            ", ".join(bundle.subjects),
            ", ".join(bundle.age_bands),
            size(bundle.size_bytes),
        )
    out.print(table)
    out.print(f"{len(bundles)} bundles, {size(sum(b.size_bytes for b in bundles))}")
