"""A pure reducer: raw ansible-runner events in, per-host state out."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

Outcome = Literal["ok", "changed", "failed", "unreachable", "skipped", "pending"]


@dataclass
class HostProgress:
    host: str
    task: str = ""
    ok: int = 0
    changed: int = 0
    failed: int = 0
    unreachable: int = 0
    skipped: int = 0
    message: str = ""
    bundle_bytes: int = 0
    """Bytes rsync sent of bundles to it (the push task's own count)."""
    pushed: bool = False
    """Its push task is over (or it stopped before): its link is free of this run's bundles."""

    @property
    def outcome(self) -> Outcome:
        if self.unreachable:
            return "unreachable"
        if self.failed:
            return "failed"
        if self.changed:
            return "changed"
        if self.ok:
            return "ok"
        return "pending"


@dataclass
class RunState:
    hosts: dict[str, HostProgress] = field(default_factory=dict)
    tasks_started: int = 0
    complete: bool = False
    """True once playbook_on_stats arrived: only then are the counts final."""

    def host(self, name: str) -> HostProgress:
        return self.hosts.setdefault(name, HostProgress(host=name))


PUSH_TASK = "Push missing bundles into staging with rsync"
"""bundle_loader's task that runs lpdeploy-push, which prints {"sent": bytes, ...}."""

RESULT_EVENTS = {
    "runner_on_ok": "ok",
    "runner_on_failed": "failed",
    "runner_on_unreachable": "unreachable",
    "runner_on_skipped": "skipped",
}


def reduce_event(state: RunState, event: dict[str, Any]) -> RunState:
    """Fold one event into the state (in place, returned for chaining)."""
    kind = event.get("event", "")
    data = event.get("event_data", {}) or {}
    host = data.get("host")
    if kind == "runner_on_start" and host:
        state.host(host).task = data.get("task", "")
    elif kind == "playbook_on_task_start":
        state.tasks_started += 1
    elif kind in RESULT_EVENTS and host:
        progress = state.host(host)
        result = data.get("res", {}) or {}
        counted = (
            "ok"
            if kind == "runner_on_failed" and data.get("ignore_errors")
            else RESULT_EVENTS[kind]
        )
        setattr(progress, counted, getattr(progress, counted) + 1)
        if kind == "runner_on_ok" and result.get("changed"):
            progress.changed += 1  # as in Ansible's recap, `ok` counts changed tasks too
        if kind in ("runner_on_failed", "runner_on_unreachable"):
            progress.message = str(result.get("msg", ""))[:500]
        if kind == "runner_on_ok" and data.get("task") == PUSH_TASK:
            progress.bundle_bytes += _sent(result)
        if data.get("task") == PUSH_TASK or counted in ("failed", "unreachable"):
            progress.pushed = True
    elif kind == "playbook_on_stats":
        _apply_stats(state, data)
    return state


def _apply_stats(state: RunState, data: dict[str, Any]) -> None:
    """playbook_on_stats is authoritative: its counts replace what the events added up."""
    for key, attribute in (("ok", "ok"), ("changed", "changed"), ("failures", "failed"),
                           ("dark", "unreachable"), ("skipped", "skipped")):  # fmt: skip
        for host, count in (data.get(key) or {}).items():
            setattr(state.host(host), attribute, count)
    for host in _hosts_in(data):
        state.host(host)
    state.complete = True


def _hosts_in(data: dict[str, Any]) -> Iterable[str]:
    for key in ("ok", "changed", "failures", "dark", "skipped", "processed"):
        yield from (data.get(key) or {}).keys()


def reduce_events(events: Iterable[dict[str, Any]]) -> RunState:
    state = RunState()
    for event in events:
        reduce_event(state, event)
    return state


def _sent(result: dict[str, Any]) -> int:
    try:
        sent = json.loads(str(result.get("stdout", ""))).get("sent", 0)
    except (ValueError, AttributeError):
        return 0
    return sent if isinstance(sent, int) and sent >= 0 else 0
