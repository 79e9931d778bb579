"""Bundle pushes as a wave's progress reads them (lpdeploy/apply/pushes.py)."""

from __future__ import annotations

import json
from pathlib import Path

from lpdeploy.apply.pushes import Push, read_pushes, transfer


def test_push_files_are_read_and_a_broken_one_waits_for_the_next_read(tmp_path: Path) -> None:
    (tmp_path / "centre-01.json").write_text(
        json.dumps({"done": 10, "total": 40, "rate": 5, "bundle": "big-en"})
    )
    (tmp_path / "centre-02.json").write_text('{"done": 3')  # being written
    (tmp_path / "centre-03.json.new").write_text("{}")
    assert read_pushes(tmp_path) == {"centre-01": Push(10, 40, 5, "big-en")}
    # with those that hubs relay (centre: text), broken ones skipped the same way
    relayed = [{"centre-04": '{"done": 1, "total": 2, "rate": 3}'}, {"centre-05": "{"}]
    assert read_pushes(tmp_path, relayed) == {
        "centre-01": Push(10, 40, 5, "big-en"), "centre-04": Push(1, 2, 3)}  # fmt: skip
    assert read_pushes(None, relayed) == {"centre-04": Push(1, 2, 3)}


def test_time_left_is_the_slowest_push_and_none_without_a_rate() -> None:
    assert Push(10, 40, 5).seconds_left() == 6
    assert Push(40, 40, 0).seconds_left() == 0 and Push(1, 40, 0).seconds_left() is None
    pushes = {"a": Push(10, 40, 5), "b": Push(0, 100, 20), "c": Push(50, 50, 9)}
    moved = transfer(pushes)
    assert moved is not None
    assert (moved.done, moved.total, moved.rate, moved.running) == (60, 190, 25, 2)
    assert moved.seconds_left == 6  # a: 30 B at 5 B/s; b: 100 B at 20 B/s
    assert transfer({**pushes, "d": Push(0, 10, 0)}).seconds_left is None  # type: ignore[union-attr]
    ended = transfer({**pushes, "d": Push(0, 10, 0)}, ended={"d"})  # cut short: not running
    assert ended is not None and ended.running == 2 and ended.seconds_left == 6
    assert transfer({}) is None
