from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import pytest
from typer.testing import CliRunner

from lpdeploy.cli import app
from lpdeploy.cli.lab import parse_ms, parse_offset, parse_percent
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


class FakeLab:
    """Records what `lab up` asks of the fleet."""

    asked: ClassVar[dict[str, object]] = {}

    def __init__(self, name: str) -> None:
        self.name = name

    def up(self, names: list[str], arches: dict[str, str], hubs: dict[str, list[str]]) -> None:
        FakeLab.asked = {"names": names, "hubs": hubs}
        raise SystemExit(0)


@pytest.mark.parametrize(
    ("args", "hubs"),
    [
        (["--centres", "5", "--hubs", "2"],
         {"hub-1": ["centre-01", "centre-02", "centre-03"], "hub-2": ["centre-04", "centre-05"]}),
        (["--centres", "2", "--hub"], {"hub": ["centre-01", "centre-02"]}),
        (["--centres", "2"], {}),
    ],
)  # fmt: skip
def test_lab_up_splits_the_centres_between_hubs(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch, args: list[str], hubs: object
) -> None:
    from lpdeploy.cli import lab as lab_module

    monkeypatch.setattr(lab_module, "Lab", FakeLab)
    runner.invoke(app, ["lab", "up", *args])
    assert FakeLab.asked["hubs"] == hubs


def test_lab_up_takes_the_plan_hubs(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from lpdeploy.cli import lab as lab_module

    plan = tmp_path / "plan.json"
    profile = Path(__file__).parents[2] / "fixtures" / "profiles" / "lab-hubs.yaml"
    assert runner.invoke(app, ["plan", str(profile), "--out", str(plan)]).exit_code == 0
    monkeypatch.setattr(lab_module, "Lab", FakeLab)
    runner.invoke(app, ["lab", "up", "--plan", str(plan)])
    assert FakeLab.asked["hubs"] == {
        "hub": ["centre-01", "centre-02"], "hub-2": ["centre-04", "centre-05"]
    }  # fmt: skip
    assert "centre-06" in FakeLab.asked["names"]  # type: ignore[operator]


@pytest.mark.parametrize(
    ("args", "said"),
    [
        ([], "give --clear, or at least one of"),
        (["--clear", "--rate", "4mbit"], "give --clear, or at least one of"),
        (["--rate", "4mb"], "kbit, mbit or gbit"),
        (["--delay", "soon"], "is not a delay"),
        (["--delay", "2m"], "is not a delay"),
        (["--loss", "120%"], "is not a percentage"),
        (["--delay", "100ms", "--jitter", "150ms"], "cannot be more than --delay"),
    ],
)
def test_a_shape_it_cannot_make_is_exit_2_before_touching_any_lab(
    runner: CliRunner, args: list[str], said: str
) -> None:
    result = runner.invoke(app, ["lab", "shape", "centre-01", *args, "--lab", "nolab"])
    assert result.exit_code == 2, result.output
    assert said in result.stderr


def test_delays_and_losses_read_as_people_write_them() -> None:
    assert [parse_ms(t, "--delay") for t in ("300ms", "1.5s", "40", "0")] == [300, 1500, 40, 0]
    assert [parse_percent(t) for t in ("1%", "0.5", "100%")] == [1, 0.5, 100]
