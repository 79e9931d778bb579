"""The two consoles: stdout for results, stderr for progress, messages and errors."""

from __future__ import annotations

import sys
from typing import Any

from rich.console import Console

from lpdeploy.output import canonical_json

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def print_json(value: Any) -> None:
    """Write exactly one JSON document to stdout."""
    sys.stdout.write(canonical_json(value).decode("utf-8"))
    sys.stdout.flush()


def size(num_bytes: int) -> str:
    """Bytes as a person reads them, in decimal units as disks are sold."""
    value = float(num_bytes)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} TB"
