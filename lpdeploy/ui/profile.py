"""Rendering of a validated profile."""

from __future__ import annotations

from rich.table import Table

from lpdeploy.language import language_name
from lpdeploy.profile import LoadedProfile
from lpdeploy.ui.console import out
from lpdeploy.ui.tables import identity_column


def show_profile(loaded: LoadedProfile) -> None:
    profile = loaded.profile
    region = profile.region
    languages = ", ".join(f"{tag} ({language_name(tag)})" for tag in profile.languages)
    out.print(f"[bold]{profile.name}[/]: valid ({loaded.path})")
    out.print(f"  region       {region.country} {region.area} ({region.timezone})".rstrip())
    out.print(f"  languages    {languages}")
    out.print(f"  connectivity {profile.connectivity}")
    out.print(f"  subjects     {', '.join(profile.subjects) or '(any)'}")
    out.print(f"  age bands    {', '.join(profile.age_bands) or '(any)'}")
    learners = sum(c.learners for c in profile.centres)
    out.print(f"  centres      {len(profile.centres)} with {learners} learners")
    table = Table()
    identity_column(table, "centre", (c.id for c in profile.centres))
    for header in ("learners", "hardware", "languages"):
        table.add_column(header)
    identity_column(table, "host", (c.host or "-" for c in profile.centres))
    for centre in profile.centres:
        table.add_row(
            centre.id,
            str(centre.learners),
            profile.centre_hardware(centre),
            ", ".join(profile.centre_languages(centre)),
            centre.host or "-",
        )
    out.print(table)
