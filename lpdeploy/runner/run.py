"""Run a spec with ansible-runner; events go on a queue, never processed in its loop."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import ansible_runner

from lpdeploy.runner.spec import RunSpec

Event = dict[str, Any]


@dataclass
class Run:
    """A run under way: its events arrive on `events`; `cancel()` asks it to stop."""

    spec: RunSpec
    events: queue.Queue[Event] = field(default_factory=queue.Queue)
    cancelled: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None
    runner: Any = None

    def cancel(self) -> None:
        self.cancelled.set()

    @property
    def finished(self) -> bool:
        return self.thread is not None and not self.thread.is_alive()


def start_run(spec: RunSpec) -> Run:
    """Start the run in ansible-runner's own thread; return at once."""
    run = Run(spec=spec)
    spec.private_data_dir.mkdir(parents=True, exist_ok=True)

    def on_event(event: Event) -> bool:
        run.events.put(event)
        return True

    kwargs: dict[str, Any] = {
        "private_data_dir": str(spec.private_data_dir),
        "inventory": [str(path) for path in spec.inventory],
        "envvars": spec.envvars,
        "extravars": spec.extravars,
        "forks": spec.forks,
        "quiet": True,
        "event_handler": on_event,
        "cancel_callback": run.cancelled.is_set,
    }
    if spec.limit:
        kwargs["limit"] = spec.limit
    if spec.playbook is not None:
        kwargs["playbook"] = str(spec.playbook)
        if spec.check:
            kwargs["cmdline"] = "--check"
    else:
        kwargs["module"] = spec.module
        kwargs["module_args"] = spec.module_args
        kwargs["host_pattern"] = spec.host_pattern
    run.thread, run.runner = ansible_runner.run_async(**kwargs)
    return run


def run_to_end(spec: RunSpec, on_event: Callable[[Event], None] | None = None) -> list[Event]:
    """Run and wait, handing each event to `on_event` from this thread."""
    run = start_run(spec)
    seen: list[Event] = []
    while True:
        try:
            event = run.events.get(timeout=0.1)
        except queue.Empty:
            if run.finished and run.events.empty():
                return seen
            continue
        seen.append(event)
        if on_event is not None:
            on_event(event)
