"""Tables that never cut an identity: centre, bundle, hub and host ids are shown whole,
and the other columns wrap or give way instead."""

from __future__ import annotations

from collections.abc import Iterable

from rich.console import Console
from rich.table import Table

UNBOUNDED = 100_000


def identity_column(table: Table, header: str, values: Iterable[str]) -> None:
    """A column as wide as its longest value, which Rich neither wraps nor shortens."""
    width = max([len(header), *(len(v) for v in values)])
    table.add_column(header, no_wrap=True, min_width=width)


def natural_width(table: Table, console: Console) -> int:
    """The width the table takes when nothing is squeezed."""
    options = console.options.update(max_width=UNBOUNDED)
    return console.measure(table, options=options).maximum


def fits(table: Table, console: Console) -> bool:
    return natural_width(table, console) <= console.width
