"""One Ansible job as ansible-runner takes it, run here or on a hub: its arguments, the
run under way and its events, and how to stop it."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import secrets
import shlex
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lpdeploy.output import write_atomic
from lpdeploy.runner.spec import RunSpec

VAULT_PROMPT = r"^Vault password:\s*?$"
SECRETS_FILE = "secrets.vault.yml"

Event = dict[str, Any]
STOP_GRACE = 10.0
"""Seconds Ansible gets to end its current step after SIGINT, before it is killed."""
END_TREES = """all=; level="$*"
while [ -n "$level" ]; do
  kill -STOP $level 2>/dev/null; all="$all $level"; next=
  for p in $level; do next="$next $(pgrep -P "$p")"; done
  level=$(echo $next)
done
[ -z "$all" ] || kill -KILL $all 2>/dev/null"""
"""sh: SIGKILL the processes named in the arguments and every process under them, each
stopped first, level by level, so that none starts a child unseen. Killing Ansible's group
is not enough: its workers each run in a session of their own, and would go on with their
task (a push, a command on a server) to its end. POSIX sh and procps' pgrep: this machine's
or a hub's."""


def is_ansible(pid: int) -> bool:
    """Whether the process is an Ansible one (its interpreter or program names ansible)."""
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return any(b"ansible" in part for part in command[:2])


@dataclass
class Run:
    """A run under way: its events arrive on `events`; `cancel()` asks it to stop."""

    spec: RunSpec
    events: queue.SimpleQueue[Event] = field(default_factory=queue.SimpleQueue)
    """Put by ansible-runner's thread, taken by the apply's. A SimpleQueue: its put never
    waits on a lock. queue.Queue's takes its mutex in Python, and a Ctrl-C raised in the
    taker between the mutex's acquire and the `with` that releases it left the mutex held:
    runner's thread then waited on it for good, and so did the apply (a CI run, 2026-12-05)."""
    cancelled: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None
    runner: Any = None
    push_files: dict[str, str] = field(default_factory=dict)
    """A relayed run's push progress files on the hub, as last read (centre: text); a run
    here leaves them where the controller reads them itself."""

    def cancel(self) -> None:
        """Hard stop: Ansible and all it started are killed (ansible-runner then sees it end)."""
        group = self.process_group()
        self.cancelled.set()
        if group is not None:
            end_trees([group])

    def process_group(self) -> int | None:
        """Ansible's process of this run (and group: runner starts it in a session of its
        own), once up."""
        if self.finished:
            return None
        me = str(os.getpid())
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                parent = stat.read_text().rsplit(")", 1)[1].split()[1]
            except (OSError, IndexError):
                continue
            if parent == me and is_ansible(int(stat.parent.name)) and self._ours(stat.parent):
                return int(stat.parent.name)
        return None

    def _ours(self, proc: Path) -> bool:
        """This run's Ansible, not another's of this process: runner puts the run's own
        folder in its environment (AWX_ISOLATED_DATA_DIR)."""
        try:
            environ = (proc / "environ").read_bytes()
        except OSError:
            return False
        return str(self.spec.private_data_dir).encode() + b"/" in environ

    def interrupt(self, grace: float) -> None:
        """Soft stop (SIGINT to Ansible's group, as Ctrl-C would), then hard after `grace` s."""
        group = self.process_group()
        if group is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(group, signal.SIGINT)
        deadline = time.monotonic() + grace
        try:
            while not self.finished and time.monotonic() < deadline:
                time.sleep(0.1)
        finally:
            self.cancel()
            while not self.finished:
                time.sleep(0.1)

    @property
    def finished(self) -> bool:
        return self.thread is not None and not self.thread.is_alive()


def end_trees(roots: list[int]) -> None:
    """Kill the processes and everything under them (END_TREES), on this machine. A Ctrl-C
    meanwhile waits for the script's end: cut between its stops and its kills, it would
    leave the processes stopped for good."""
    try:
        script = subprocess.Popen(
            ["sh", "-c", END_TREES, "end-trees", *map(str, roots)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
    except OSError:
        return
    interrupted = False
    while script.poll() is None:
        try:
            script.wait()
        except KeyboardInterrupt:
            interrupted = True
    if interrupted:
        raise KeyboardInterrupt


def job_kwargs(spec: RunSpec, sealed: Path, sealed_there: Path) -> dict[str, Any]:
    """ansible-runner's arguments for the spec, but for where the job's files are (the
    private data dir, inventory, playbook) and the callbacks. Secrets are sealed in a vault
    at `sealed`, which Ansible reads at `sealed_there` (the same file, or its copy on a hub)."""
    cmdline = ["--check"] if spec.check and spec.playbook is not None else []
    kwargs: dict[str, Any] = {
        "suppress_env_files": True,
        "envvars": spec.envvars,
        "extravars": spec.extravars,
        "forks": spec.forks,
        "quiet": True,
    }
    if spec.secrets:
        # Ansible gets the secrets as extra vars from a vault whose one-time password it is
        # given at its prompt (a pty, never a file or the environment: runner writes the
        # environment into artifacts/*/command). The vault is deleted when the run ends.
        from lpdeploy.runner.vault import encrypt  # ansible's vault loads slowly: only here

        password = secrets.token_urlsafe(32)
        text = "".join(f"{name}: {json.dumps(value)}\n" for name, value in spec.secrets.items())
        write_atomic(sealed, encrypt(text, password), mode=0o600)
        cmdline += ["--ask-vault-password", "-e", f"@{sealed_there}"]
        kwargs["passwords"] = {VAULT_PROMPT: password}
    if cmdline:
        kwargs["cmdline"] = " ".join(shlex.quote(part) for part in cmdline)
    if spec.limit:
        kwargs["limit"] = spec.limit
    if spec.playbook is None:
        kwargs["module"] = spec.module
        kwargs["module_args"] = spec.module_args
        kwargs["host_pattern"] = spec.host_pattern
    return kwargs
