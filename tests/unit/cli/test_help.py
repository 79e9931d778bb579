"""Every command builds and explains itself (Typer rejects some option types only then)."""

from __future__ import annotations

from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from lpdeploy.cli import app


def commands(group: Any, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = []
    for name, command in sorted(group.commands.items()):
        found.append((*prefix, name))
        if hasattr(command, "commands"):
            found += commands(command, (*prefix, name))
    return found


@pytest.mark.parametrize("words", commands(typer.main.get_command(app)), ids=" ".join)
def test_help(runner: CliRunner, words: tuple[str, ...]) -> None:
    result = runner.invoke(app, [*words, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output


def test_shell_completion_is_offered(runner: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    # Typer otherwise detects the shell that runs the tests (sh under make) and ignores "bash".
    monkeypatch.setenv("_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION", "1")
    result = runner.invoke(app, ["--help"])
    assert "--install-completion" in result.stdout
    assert "--show-completion" in result.stdout
    shown = runner.invoke(app, ["--show-completion", "bash"], prog_name="lpdeploy")
    assert shown.exit_code == 0, shown.output
    assert "_LPDEPLOY_COMPLETE=complete_bash" in shown.stdout
