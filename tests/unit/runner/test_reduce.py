"""The reducer, on event streams recorded from real runs against the lab."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from lpdeploy.runner.reduce import PUSH_TASK, reduce_events

EVENTS = Path(__file__).parents[2] / "fixtures" / "events"
PLAYBOOKS = Path(__file__).parents[3] / "playbooks"


def recorded(name: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (EVENTS / name).read_text().splitlines()]


def test_all_ok() -> None:
    state = reduce_events(recorded("ping-ok.jsonl"))
    assert state.complete
    assert {h: p.outcome for h, p in state.hosts.items()} == dict.fromkeys(
        ["centre-01", "centre-02", "centre-03"], "ok"
    )


def test_one_unreachable() -> None:
    state = reduce_events(recorded("ping-one-cut.jsonl"))
    assert state.hosts["centre-02"].outcome == "unreachable"
    assert state.hosts["centre-02"].message
    assert state.hosts["centre-01"].outcome == "ok"


def test_failures_are_counted() -> None:
    state = reduce_events(recorded("command-fails.jsonl"))
    assert state.hosts["centre-01"].outcome == "failed"
    assert state.hosts["centre-02"].outcome == "unreachable"


def test_without_stats_the_run_is_incomplete() -> None:
    events = [e for e in recorded("ping-ok.jsonl") if e["event"] != "playbook_on_stats"]
    state = reduce_events(events)
    assert not state.complete
    assert {p.outcome for p in state.hosts.values()} == {"ok"}


def test_stats_are_authoritative() -> None:
    events = recorded("ping-ok.jsonl")
    ok_events = [e for e in events if e["event"] == "runner_on_ok"]
    state = reduce_events(events + ok_events)
    assert state.hosts["centre-01"].ok == 2
    stats = next(e for e in events if e["event"] == "playbook_on_stats")
    assert reduce_events([*events, *ok_events, stats]).hosts["centre-01"].ok == 1


def push_event(host: str, stdout: str) -> dict[str, Any]:
    return {"event": "runner_on_ok", "event_data": {"host": host, "task": PUSH_TASK,
            "res": {"changed": True, "stdout": stdout}}}  # fmt: skip


def test_the_bytes_each_push_sent_are_counted_per_host() -> None:
    state = reduce_events([
        push_event("c1", '{"pushed": ["a"], "changed": true, "sent": 1200}'),
        push_event("c2", "not json"),
        push_event("c2", '{"sent": -5}'),
    ])  # fmt: skip
    assert (state.hosts["c1"].bundle_bytes, state.hosts["c2"].bundle_bytes) == (1200, 0)


def test_a_host_has_pushed_once_its_push_task_ended_or_it_stopped_before() -> None:
    def event(kind: str, host: str, task: str) -> dict[str, Any]:
        return {"event": kind, "event_data": {"host": host, "task": task, "res": {}}}

    state = reduce_events([
        event("runner_on_ok", "c1", "Install packages"),
        event("runner_on_ok", "c2", "Install packages"),
        event("runner_on_skipped", "c2", PUSH_TASK),  # nothing to push
        event("runner_on_failed", "c3", "Install packages"),
        event("runner_on_unreachable", "c4", "Install packages"),
    ])  # fmt: skip
    assert {h: p.pushed for h, p in state.hosts.items()} == {
        "c1": False, "c2": True, "c3": True, "c4": True
    }  # fmt: skip
    state = reduce_events([push_event("c1", '{"sent": 10}')])
    assert state.hosts["c1"].pushed


def test_the_push_task_is_named_as_the_reducer_expects() -> None:
    tasks = yaml.safe_load(PLAYBOOKS.joinpath("roles/bundle_loader/tasks/stage.yml").read_text())
    assert PUSH_TASK in [task["name"] for task in tasks]
