"""The rollout's progress: one screen for 400 centres on a terminal, plain whole lines in a
log, from event streams recorded on the lab (each replayed for many centres)."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

from rich.console import Console

from lpdeploy.apply.pushes import Push
from lpdeploy.apply.rollout import CentreResult, WaveView
from lpdeploy.runner.reduce import RunState, reduce_event
from lpdeploy.ui.progress import LiveProgress, PlainProgress

EVENTS = Path(__file__).parents[2] / "fixtures" / "events"
CENTRES = 400
HUBS = 10


def recorded(name: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (EVENTS / name).read_text().splitlines()]


def as_host(events: list[dict[str, Any]], old: str, new: str) -> list[dict[str, Any]]:
    return [json.loads(json.dumps(e).replace(f'"{old}"', f'"{new}"')) for e in events]


def big_wave(finish: bool) -> WaveView:
    """400 centres behind 10 hubs; every 7th centre's server was cut (unreachable). With
    `finish`, every hub's run completed; otherwise only the failures are known."""
    ok = [e for e in recorded("ping-ok.jsonl") if e["event"] != "playbook_on_stats"]
    cut = recorded("ping-one-cut.jsonl")
    cut_host = next(e["event_data"]["host"] for e in cut if e["event"] == "runner_on_unreachable")
    names = [f"camp-{n // 20:02d}-lc-{n % 20:02d}" for n in range(CENTRES)]
    view = WaveView(2, {name: f"hub-{n % HUBS + 1}" for n, name in enumerate(names)})
    view.started -= 120
    for hub in set(view.hub_of.values()):
        view.states[hub] = RunState()
    for n, name in enumerate(names):
        events = (
            [e for e in as_host(cut, cut_host, name) if e["event"] == "runner_on_unreachable"]
            if n % 7 == 0
            else [e for e in as_host(ok, "centre-01", name) if e["event"] == "runner_on_start"]
        )
        for event in events:
            reduce_event(view.states[view.hub_of[name]], event)
    if finish:
        for name, hub in view.hub_of.items():
            if view.states[hub].hosts[name].outcome != "unreachable":
                view.states[hub].hosts[name].changed = 1
                view.states[hub].hosts[name].ok = 3
        for state in view.states.values():
            state.complete = True
    view.note_finished(view.started + 60)
    return view


def test_400_centres_stay_within_one_screen() -> None:
    for finish in (False, True):
        view = big_wave(finish)
        console = Console(file=io.StringIO(), width=100, height=30, color_system=None)
        console.print(LiveProgress(console).render(view))
        text = console.file.getvalue()  # type: ignore[attr-defined]
        lines = text.splitlines()
        assert len(lines) <= 24, text
        assert "wave 2: 400 centres" in lines[0]
        assert "10" in text and "hub-10" in text
        assert re.search(r"failed \(58\):\n  camp-\d\d-lc-\d\d: ", text) and "and 53 more" in text
        if finish:
            assert "slowest" not in text
            assert re.search(r"hub-1 +40 +40 +0 +34 +6", text), text
        else:
            assert "slowest: " in text and "centres/min" in text and "left" in text


def test_plain_lines_one_per_centre_none_cut() -> None:
    lines: list[str] = []
    plain = PlainProgress(lines.append)
    view = big_wave(False)
    message = "hub far-away: no answer in 10 s " * 5  # long: still whole on its line
    view.settled = [CentreResult("camp-99-lc-00", 2, "unreachable", message=message, hub="hub-11")]
    plain.wave_started(view)
    plain.update(view)
    assert len(lines) == 1 + 1 + 58  # the wave, the settled centre, the unreachable ones
    finished = big_wave(True)
    finished.settled = view.settled
    plain.wave_finished(finished)
    assert all(line.endswith("\n") and "\n" not in line[:-1] for line in lines)
    centre_lines = [line for line in lines if re.match(r"\d\d:\d\d:\d\d camp-", line)]
    assert len(centre_lines) == CENTRES + 1
    assert len({line.split()[1] for line in centre_lines}) == CENTRES + 1
    assert any(" ".join(message.split()) in line for line in centre_lines)
    assert sum(" changed 1 changes" in line for line in centre_lines) == CENTRES - 58
    assert lines[-1].split(" ", 1)[1].startswith("wave 2 done: 401 centres, 342 changed, 59 failed")


def test_pushes_show_bytes_rate_and_time_left_per_centre_and_for_the_wave() -> None:
    view = WaveView(1, {"centre-01": None, "centre-02": None, "centre-03": None})
    view.states[None] = RunState()
    view.pushes = {
        "centre-01": Push(20_800_000, 54_000_000, 812_500, "big-en"),  # 6.5 Mbit/s
        "centre-02": Push(54_000_000, 54_000_000, 0, "big-en"),
    }
    screen = Console(width=100, record=True, color_system=None)
    screen.print(LiveProgress(screen).render(view))
    text = screen.export_text()
    assert "bundles: 74.8 MB of 108.0 MB, 6.5 Mbit/s, about 41 s left (1 pushing)" in text
    assert "centre-01 (pushing 20.8 MB of 54.0 MB, 6.5 Mbit/s, about 41 s left)" in text
    lines: list[str] = []
    plain = PlainProgress(lines.append)
    view.pushes["centre-03"] = Push(0, 54_000_000, 0)  # just started: no rate yet
    plain.update(view)
    assert not lines  # said once the time left is known
    view.pushes["centre-03"] = Push(54_000_000, 54_000_000, 0)
    plain.update(view)
    plain.update(view)  # not again before PLAIN_EVERY seconds
    assert [line.split(" ", 1)[1] for line in lines] == [
        "wave 1 bundles: 128.8 MB of 162.0 MB, 6.5 Mbit/s, about 41 s left (1 pushing)\n"
    ]
    view.states[None].host("centre-02").changed = 2
    view.states[None].host("centre-02").bundle_bytes = 54_100_000
    view.finished["centre-02"] = 0
    plain.update(view)
    assert (
        lines[-1].split(" ", 1)[1]
        == "centre-02 direct changed 2 changes, 54.1 MB of bundles sent\n"
    )
