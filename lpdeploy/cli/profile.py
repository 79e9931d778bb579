"""`lpdeploy profile validate|schema`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from lpdeploy.cli.options import Json
from lpdeploy.profile import Profile, load_profile
from lpdeploy.ui.console import print_json
from lpdeploy.ui.profile import show_profile

app = typer.Typer(no_args_is_help=True, help="Check crisis profiles.")


@app.command()
def validate(
    path: Annotated[Path, typer.Argument(help="Crisis profile (YAML).", show_default=False)],
    json: Json = False,
) -> None:
    """Check a crisis profile and print what was understood."""
    loaded = load_profile(path)
    if json:
        print_json(
            {
                "ok": True,
                "path": loaded.path,
                "sha256": loaded.sha256,
                "profile": loaded.profile.model_dump(mode="json"),
            }
        )
    else:
        show_profile(loaded)


@app.command()
def schema() -> None:
    """Print the profile's JSON Schema (for editors)."""
    print_json(Profile.model_json_schema())
