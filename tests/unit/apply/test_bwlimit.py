"""`apply --bwlimit`: the limit each rsync of a route gets."""

from __future__ import annotations

from types import SimpleNamespace
from typing import cast

from typer.testing import CliRunner

from lpdeploy.apply.rollout import Rollout, Route, _transfer_vars
from lpdeploy.cli import app
from lpdeploy.connect import Connection
from lpdeploy.runner.hub import Hub


def limits(bwlimit: int | None, hub: bool, members: int) -> dict[str, object]:
    rollout = cast(Rollout, SimpleNamespace(bwlimit=bwlimit, forks=20))
    through = Hub(name="hub", connection=Connection(host="hub", address="10.0.0.2"),
                  known_hosts=()) if hub else None  # fmt: skip
    return _transfer_vars(rollout, Route(through, []), members)


def test_each_direct_server_gets_the_whole_limit() -> None:
    assert limits(8_000_000, hub=False, members=12) == {"lpdeploy_bwlimit_kib": 976}


def test_a_hubs_pushes_share_its_one_link() -> None:
    assert limits(8_000_000, hub=True, members=4) == {"lpdeploy_bwlimit_kib": 244}
    assert limits(8_000_000, hub=True, members=50) == {"lpdeploy_bwlimit_kib": 48}  # 20 forks


def test_no_limit_sets_nothing() -> None:
    assert limits(None, hub=True, members=4) == {}


def test_a_rate_apply_cannot_read_is_exit_2_before_anything_runs() -> None:
    result = CliRunner().invoke(app, ["apply", "nowhere.json", "--bwlimit", "4mb"])
    assert result.exit_code == 2
    assert "--bwlimit" in result.output and "kbit, mbit or gbit" in result.output
