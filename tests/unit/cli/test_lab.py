from __future__ import annotations

import pytest
from typer.testing import CliRunner

from lpdeploy.cli import app
from lpdeploy.cli.lab import parse_offset
from lpdeploy.errors import InputError


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("-1d", -86400), ("+2h", 7200), ("90m", 5400), ("300", 300), ("-45s", -45), ("0", 0)],
)
def test_clock_offsets(text: str, seconds: int) -> None:
    assert parse_offset(text) == seconds


@pytest.mark.parametrize("text", ["", "1x", "d", "--1d", "1.5h"])
def test_bad_clock_offsets_say_what_is_expected(text: str) -> None:
    with pytest.raises(InputError, match="expected seconds or a number with s, m, h or d"):
        parse_offset(text)


def test_a_bad_offset_is_exit_2_before_touching_any_lab(runner: CliRunner) -> None:
    result = runner.invoke(app, ["lab", "clock", "centre-01", "--by", "soon", "--lab", "nolab"])
    assert result.exit_code == 2
    assert "expected seconds" in result.stderr
