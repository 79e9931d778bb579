"""Staging ahead: while the canary wave runs, the later waves' bundles go into staging on
their servers (playbooks/stage.yml), one run per route. Through a hub, the bundles first go
to the hub, then the hub's Ansible stages them on its centres. Nothing is activated: each
server's own wave finds the bytes there. Best effort: what a run here says is not a result."""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from lpdeploy.errors import NotRightError
from lpdeploy.runner.job import STOP_GRACE, Run
from lpdeploy.runner.run import start_run
from lpdeploy.runner.spec import RunSpec


class AnsibleWatch(Protocol):
    def ansible_started(self, group: int) -> None: ...


LOW = "19"
"""The nice of a staging run's session (its autogroup's): the lowest there is."""


def lower(pid: int) -> None:
    """The autogroup of `pid`'s session at nice LOW (best effort: a kernel without
    autogroups, or a run already over, changes nothing). The push helper has its own
    (bundle_loader's files/lpdeploy-push runs alone, without lpdeploy)."""
    with contextlib.suppress(OSError):
        Path(f"/proc/{pid}/autogroup").write_text(LOW)


class Ahead:
    """One route's staging run, started in a thread of its own at once. `first`, if given,
    runs before it (a hub's copy of the bundles) and stops when `stop` is set; with a
    `gate`, the run waits for it (through a hub, the canary's own push there: the canary
    shares the hub's one link to its centres, and its verdict comes first)."""

    def __init__(
        self,
        spec: RunSpec,
        route: str | None,
        first: Callable[[threading.Event], None] | None = None,
        watch: AnsibleWatch | None = None,
        gated: bool = False,
    ) -> None:
        self.route = route
        self.stop = threading.Event()
        self.gate = threading.Event()
        if not gated:
            self.gate.set()
        self.run: Run | None = None
        self.thread = threading.Thread(
            target=self._go, args=(spec, first, watch), name=f"stage-ahead-{route}", daemon=True
        )
        self.thread.start()

    def _go(
        self,
        spec: RunSpec,
        first: Callable[[threading.Event], None] | None,
        watch: AnsibleWatch | None,
    ) -> None:
        if first is not None:
            try:
                first(self.stop)
            except NotRightError:
                return  # the hub is not there yet: the wave's own copy says so
        while not (self.gate.is_set() or self.stop.is_set()):
            self.gate.wait(0.2)
        if self.stop.is_set():
            return
        run = self.run = start_run(spec)
        # Lowered, all of its session, as its pushes lower themselves: the canary comes first.
        # Recorded, so that an apply after a killed one can end it too (a hub's Ansible runs
        # on the hub: nothing here to lower or record).
        while spec.via is None and not run.finished:
            group = run.process_group()
            if group is not None:
                lower(group)
                if watch is not None:
                    watch.ansible_started(group)
                return
            time.sleep(0.2)

    def end(self, stop: bool) -> None:
        """Wait for the run to end (the next wave pushes to the same folders), or with
        `stop` (the canary failed, or the run ends) stop it: what it staged stays inactive."""
        if stop:
            self.stop.set()
        self.gate.set()  # the wave it waited on is over
        self.thread.join()
        run = self.run
        if run is None:
            return
        if stop:
            run.interrupt(STOP_GRACE)
        while not run.finished:
            with contextlib.suppress(queue.Empty):
                run.events.get(timeout=0.2)
