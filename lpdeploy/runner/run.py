"""Run a spec with ansible-runner; events go on a queue, never processed in its loop."""

from __future__ import annotations

import contextlib
import json
import queue
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import ansible_runner

from lpdeploy.output import write_atomic
from lpdeploy.runner.job import SECRETS_FILE, Event, Run, job_kwargs
from lpdeploy.runner.relay import start_relayed
from lpdeploy.runner.spec import RunSpec, control_path_dir


def start_run(spec: RunSpec) -> Run:
    """Start the run in ansible-runner's own thread (on the hub, for a relayed spec);
    return at once."""
    if spec.via is not None:
        return start_relayed(spec, spec.via)
    run = Run(spec=spec)
    spec.private_data_dir.mkdir(parents=True, exist_ok=True)

    def on_event(event: Event) -> bool:
        run.events.put(event)
        return True

    sealed = spec.private_data_dir / SECRETS_FILE
    kwargs = job_kwargs(spec, sealed, sealed)
    kwargs["private_data_dir"] = str(spec.private_data_dir)
    kwargs["inventory"] = [str(path) for path in spec.inventory]
    kwargs["event_handler"] = on_event
    kwargs["cancel_callback"] = run.cancelled.is_set
    kwargs["finished_callback"] = lambda runner: _tidy(runner, spec, sealed)
    if spec.playbook is not None:
        kwargs["playbook"] = str(spec.playbook)
    run.thread, run.runner = ansible_runner.run_async(**kwargs)
    return run


def _tidy(runner: Any, spec: RunSpec, sealed: Path) -> None:
    """After a run: the one-time vault goes, its SSH connections close (with their folder)
    unless they outlive it (RunSpec.connections), and of the environment runner copied into
    artifacts/*/command only what lpdeploy set stays (the user's may hold secrets)."""
    sealed.unlink(missing_ok=True)
    if spec.connections is None:
        close_connections(control_path_dir(spec.private_data_dir))
    command = Path(runner.config.artifact_dir) / "command"
    with contextlib.suppress(OSError, ValueError):
        document = json.loads(command.read_text(encoding="utf-8"))
        document["env"] = {k: v for k, v in document.get("env", {}).items() if k in spec.envvars}
        write_atomic(command, json.dumps(document).encode(), mode=0o600)


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


def close_connections(folder: Path) -> None:
    """Close the shared SSH connections whose sockets are in `folder`, then remove it: no
    other run uses them (each run, or each apply, has a folder of its own), and
    ControlPersist would otherwise keep them, and the folder for good, after the run."""
    for socket in sorted(folder.glob("*")):
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            subprocess.run(
                ["ssh", "-F", "/dev/null", "-o", f"ControlPath={socket}", "-O", "exit", "lpdeploy"],
                capture_output=True, timeout=10, check=False,
            )  # fmt: skip
        socket.unlink(missing_ok=True)  # the master may be a moment removing it itself
    with contextlib.suppress(OSError):
        folder.rmdir()
