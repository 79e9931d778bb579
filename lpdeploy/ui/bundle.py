"""Rendering of bundle builds and verdicts."""

from __future__ import annotations

from lpdeploy.bundle.build import BuiltBundle
from lpdeploy.bundle.verify import Problem, Verdict
from lpdeploy.ui.console import out, size


def show_built(built: BuiltBundle) -> None:
    manifest = built.manifest
    state = "unchanged" if built.unchanged else "built"
    signed = ", signed" if built.signed else ", unsigned"
    out.print(
        f"{manifest.name}: {state} at {built.path} "
        f"({len(manifest.files)} files, {size(manifest.size_bytes)}{signed})"
    )


def show_verdict(verdict: Verdict) -> None:
    files = f"{verdict.files} files, {size(verdict.size_bytes)}"
    if verdict.ok:
        out.print(f"[green]{verdict.bundle}: intact[/] ({files}; signature {verdict.signature})")
        return
    out.print(f"[red]{verdict.bundle}: {len(verdict.problems)} problems[/] ({files})")
    show_problems(verdict.problems)


def show_problems(problems: list[Problem]) -> None:
    for problem in problems:
        out.print(f"  {problem.path}: {problem.problem}", markup=False)
