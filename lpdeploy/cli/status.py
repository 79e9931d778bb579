"""`lpdeploy status`: what the last runs did, per centre; `status import DIR`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from lpdeploy.cli.options import Json
from lpdeploy.document import load_json, validate
from lpdeploy.errors import InputError
from lpdeploy.journal import APPLIED, Journal
from lpdeploy.journal_exchange import EXTRACT, JournalExtract, known_plans, merge
from lpdeploy.plan.load import load_plan
from lpdeploy.settings import state_dir
from lpdeploy.ui.console import out, print_json
from lpdeploy.ui.progress import show_status

DEFAULT_COMMAND = "show"


class _StatusGroup(TyperGroup):
    """`status` shows; `status import DIR` merges a journal extract."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if not args or (args[0] not in self.commands and args[0] not in ("--help", "-h")):
            args = [DEFAULT_COMMAND, *args]
        return super().parse_args(ctx, args)


app = typer.Typer(
    cls=_StatusGroup,
    help="What the last runs did, per centre (`status`); merge reports (`status import`).",
)


@app.command(DEFAULT_COMMAND)
def show(json: Json = False) -> None:
    """What the last runs did, per centre."""
    journal = Journal(state_dir() / "journal.sqlite")
    try:
        applied = journal.last_per_centre(APPLIED)
        verified = journal.last_per_centre(("verify",))
    finally:
        journal.close()
    centres = sorted(applied.keys() | verified.keys())
    if json:
        print_json(
            {
                "centres": [
                    {
                        "id": centre,
                        "apply": vars(applied[centre]) if centre in applied else None,
                        "verify": vars(verified[centre]) if centre in verified else None,
                    }
                    for centre in centres
                ]
            }
        )
    else:
        show_status(centres, applied, verified)


@app.command("import")
def import_reports(
    folder: Annotated[
        Path, typer.Argument(help="Folder written by `verify --out`.", show_default=False)
    ],
    plan: Annotated[
        list[Path] | None,
        typer.Option(help="A plan this journal should know (besides those it has runs of)."),
    ] = None,
    json: Json = False,
) -> None:
    """Merge the journal extract a hub wrote (`verify --out DIR`) into this journal.
    Importing twice adds nothing; an extract for a plan this journal does not know (no
    run, kit or --plan of it) is refused."""
    doc = load_json(folder / EXTRACT)
    extract: JournalExtract = validate(JournalExtract, doc)
    journal = Journal(state_dir() / "journal.sqlite")
    try:
        known = known_plans(journal) | {load_plan(p).profile.sha256 for p in plan or []}
        if extract.plan.sha256 not in known:
            raise InputError.single(
                doc.path,
                f"plan {extract.plan.name} ({extract.plan.sha256[:12]}) is unknown to this "
                "journal: import it where its kit was built, or name it with --plan",
                "plan",
            )
        added, present = merge(journal, extract)
    finally:
        journal.close()
    if json:
        print_json({"plan": extract.plan.name, "imported": added, "already_there": present})
    else:
        out.print(f"{extract.plan.name}: {added} runs imported, {present} already there")
