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


def state_dir() -> Path:
    """$LPDEPLOY_HOME, else $XDG_STATE_HOME/lpdeploy, else ~/.local/state/lpdeploy."""
    env = os.environ.get("LPDEPLOY_HOME")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_STATE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".local" / "state") / "lpdeploy"


def playbooks_dir() -> Path:
    """The playbooks shipped beside the package (a source checkout or a field kit)."""
    return Path(os.environ.get("LPDEPLOY_PLAYBOOKS", PACKAGE_ROOT.parent / "playbooks"))


def trusted_keys_dir() -> Path:
    """Public keys trusted by default: $LPDEPLOY_TRUSTED_KEYS, else the repo's bundles/keys."""
    return Path(os.environ.get("LPDEPLOY_TRUSTED_KEYS", PACKAGE_ROOT.parent / "bundles" / "keys"))
