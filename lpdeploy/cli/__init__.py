"""The `lpdeploy` command: one Typer app, one place where errors become exit codes."""

from __future__ import annotations

from typing import Any

import typer
from rich.text import Text
from typer.core import TyperGroup

from lpdeploy.cli import (
    apply,
    bundle,
    catalog,
    diagnose,
    hub,
    inventory,
    keys,
    kit,
    lab,
    plan,
    profile,
    rehearse,
    rollback,
    status,
    trust,
    usage,
    verify,
)  # fmt: skip
from lpdeploy.errors import RC, InputError, LpdeployError
from lpdeploy.ui.console import err, print_json


class _Boundary(TyperGroup):
    """Turns LpdeployError and Ctrl-C into a message on stderr and a documented exit code."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        ctx.meta["lpdeploy.json"] = "--json" in args
        return super().parse_args(ctx, args)

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except LpdeployError as exc:
            if ctx.meta.get("lpdeploy.json"):
                print_json(_error_document(exc))
            err.print(Text("error: ", style="red") + Text(str(exc)), soft_wrap=True)
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            # Before a command has anything to report (an apply still building its package
            # repository): with --json, stdout still holds a document.
            if ctx.meta.get("lpdeploy.json"):
                print_json(
                    {
                        "ok": False,
                        "exit_code": RC.INTERRUPTED,
                        "errors": [{"message": "interrupted"}],
                    }
                )
            err.print("interrupted")
            raise typer.Exit(RC.INTERRUPTED) from None


def _error_document(exc: LpdeployError) -> dict[str, Any]:
    errors = (
        [
            {"path": i.path, "line": i.line, "field": i.field, "message": i.message}
            for i in exc.issues
        ]
        if isinstance(exc, InputError)
        else [{"message": str(exc)}]
    )
    return {"ok": False, "exit_code": exc.exit_code, "errors": errors}


app = typer.Typer(
    cls=_Boundary,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Plan, provision and verify offline learning centres.",
)
app.add_typer(profile.app, name="profile")
app.add_typer(catalog.app, name="catalog")
app.add_typer(plan.app, name="plan")
app.add_typer(keys.app, name="keys")
app.add_typer(bundle.app, name="bundle")
app.add_typer(lab.app, name="lab")
app.add_typer(kit.app, name="kit")
app.add_typer(hub.app, name="hub")
app.command("apply")(apply.apply)
app.command("verify")(verify.verify)
app.add_typer(status.app, name="status")
app.command("preflight")(trust.preflight_command)
app.command("trust")(trust.trust)
app.command("inventory")(inventory.inventory_command)
app.command("rehearse")(rehearse.rehearse)
app.command("rollback")(rollback.rollback)
app.command("diagnose")(diagnose.diagnose)
app.add_typer(usage.app, name="usage")


def main() -> None:
    app(prog_name="lpdeploy")
