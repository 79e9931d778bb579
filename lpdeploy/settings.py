"""Where things are by default: flags < LPDEPLOY_* environment < built-in defaults."""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_ROOT = Path(__file__).resolve().parent


def default_catalog() -> Path:
    """$LPDEPLOY_CATALOG, else the repo's bundles/ (a source checkout), else ./bundles."""
    env = os.environ.get("LPDEPLOY_CATALOG")
    if env:
        return Path(env)
    repo = PACKAGE_ROOT.parent / "bundles"
    return repo if repo.is_dir() else Path("bundles")
