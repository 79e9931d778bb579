"""Run a spec on a hub: ansible-runner `transmit` here, `worker` on the hub, `process` here.

One SSH pipe carries the job to `ansible-runner worker` on the hub and its events back, as
they happen, into the same queue a local run fills. The job's folder on the hub is the
worker's `--private-data-dir` (deleted when it ends), so paths in the job are known here in
advance: this machine's run folder is rewritten to the hub's in every environment value.
"""

from __future__ import annotations

import contextlib
import shlex
import shutil
import subprocess
import threading
import time
import uuid
from pathlib import Path
from typing import IO, Any

import ansible_runner
import yaml

from lpdeploy.output import write_atomic
from lpdeploy.runner import hub as hubs
from lpdeploy.runner.hub import Hub
from lpdeploy.runner.job import END_TREES, SECRETS_FILE, Event, Run, job_kwargs
from lpdeploy.runner.spec import RunSpec, ssh_args

SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
READ_GRACE = 60
"""Seconds the hub's reading of push files waits for the job's folder to appear."""
LOG = "relay.log"
"""The worker's stderr, kept beside the run's artifacts here."""


class RelayRun(Run):
    """A run whose Ansible is on the hub; stopping it signals the worker there."""

    hub: Hub
    job: str
    pipe: subprocess.Popen[bytes] | None = None

    def process_group(self) -> int | None:
        return None  # Ansible runs on the hub: nothing here for a terminal's signals to reach

    def cancel(self) -> None:
        """Hard stop: everything under the worker is killed, then the worker is told to
        cancel (it sends its last events and removes the job's folder)."""
        if not self.cancelled.is_set():
            self.cancelled.set()
            self._signal(f'set -- $(pgrep -P "$w"); {END_TREES}; kill -TERM $w')

    def interrupt(self, grace: float) -> None:
        """SIGINT to Ansible's group on the hub, as Ctrl-C there would; hard after `grace`."""
        self._signal('for c in $(pgrep -P "$w"); do kill -INT -- "-$c"; done')
        deadline = time.monotonic() + grace
        while not self.finished and time.monotonic() < deadline:
            time.sleep(0.1)
        if not self.finished:
            self.cancel()
        deadline = time.monotonic() + grace
        while not self.finished and time.monotonic() < deadline:
            time.sleep(0.1)
        if not self.finished and self.pipe is not None:
            self.pipe.kill()  # the hub no longer answers: stop waiting for it
        while not self.finished:
            time.sleep(0.1)

    def _signal(self, command: str) -> None:
        script = f'w=$(cat {self.job}.pid 2>/dev/null) && [ -n "$w" ] && {{ {command}; }}'
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            subprocess.run(
                self.hub.ssh(script), capture_output=True, timeout=hubs.TIMEOUT * 2, check=False
            )


def start_relayed(spec: RunSpec, hub: Hub) -> RelayRun:
    """Stage the job here, start the worker on the hub, stream the job to it; return at once."""
    here = spec.private_data_dir
    job = f"{hubs.ROOT}/jobs/{uuid.uuid4().hex}"
    _stage(spec, here, job)
    there = _on_hub(spec, here, job)
    kwargs = job_kwargs(there, here / SECRETS_FILE, Path(job) / SECRETS_FILE)
    if spec.playbook is not None:
        kwargs["playbook"] = spec.playbook.name
    if hub.centre_key is not None:
        kwargs["ssh_key"] = hub.centre_key.read_text()
    run = RelayRun(spec=spec)
    run.hub, run.job = hub, job
    worker = (
        f"mkdir -p {hubs.ROOT}/jobs && echo $$ > {job}.pid && "
        f"exec {hubs.VENV}/bin/ansible-runner worker --private-data-dir {job} --delete"
    )
    log = (here / LOG).open("wb")
    run.pipe = subprocess.Popen(
        hub.ssh(worker), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log,
        start_new_session=True,  # a Ctrl-C here must not cut the pipe: the run stops in order
    )  # fmt: skip

    progress = there.extravars.get("lpdeploy_push_progress")
    pushes = _read_pushes(run, str(progress), job) if progress else None

    def on_event(event: Event) -> bool:
        run.events.put(event)
        return True

    def relay() -> None:
        pipe = run.pipe
        assert pipe is not None and pipe.stdin is not None and pipe.stdout is not None
        try:
            _transmit(here, kwargs, pipe.stdin)
            ansible_runner.run(
                private_data_dir=str(here), streamer="process", _input=pipe.stdout, quiet=True,
                event_handler=on_event, cancel_callback=run.cancelled.is_set,
            )  # fmt: skip
        except Exception as exc:  # a broken stream: said by relay_problem, not a traceback
            log.write(f"the job's stream broke: {type(exc).__name__}: {exc}\n".encode())
        finally:
            if pushes is not None:
                pushes.kill()  # the hub's loop ends at its next write
                pushes.wait()
            with contextlib.suppress(subprocess.TimeoutExpired):
                pipe.wait(timeout=hubs.TIMEOUT)
            if pipe.poll() is None:
                pipe.kill()
                pipe.wait()
            pipe.stdout.close()
            log.close()
            (here / SECRETS_FILE).unlink(missing_ok=True)
            end = f"rm -f {job}.pid; {close_script(there.envvars['ANSIBLE_SSH_CONTROL_PATH_DIR'])}"
            with contextlib.suppress(subprocess.SubprocessError, OSError):
                subprocess.run(hub.ssh(end), capture_output=True, timeout=hubs.TIMEOUT * 2,
                               check=False)  # fmt: skip

    run.thread = threading.Thread(target=relay, name=f"relay-{hub.name}", daemon=True)
    run.thread.start()
    return run


def close_script(folder: str) -> str:
    """POSIX sh that does on the hub what `close_connections` does here: the run's shared
    SSH connections to its centres closed, their sockets and folder removed."""
    where = shlex.quote(folder)
    return (
        f'for s in {where}/*; do [ -S "$s" ] && ssh -F /dev/null -o ControlPath="$s" '
        '-O exit lpdeploy >/dev/null 2>&1; rm -f "$s"; done; '
        f"rmdir {where} 2>/dev/null; true"
    )


def _read_pushes(run: RelayRun, folder: str, job: str) -> subprocess.Popen[bytes]:
    """The pushes' progress files in `folder` on the hub, read there once a second and
    streamed back over one connection into `run.push_files` (best effort: without them the
    progress shows the task, not the bytes). The loop there ends when the connection does,
    or once the job's folder is gone."""
    where, done = shlex.quote(folder), shlex.quote(job)
    script = (
        f"n=0; while [ -d {done} ] || [ $n -lt {READ_GRACE} ]; do n=$((n+1)); "
        f'for f in {where}/*.json; do [ -f "$f" ] && b=${{f##*/}} && '
        f'printf "%s\\t%s\\n" "${{b%.json}}" "$(cat "$f" 2>/dev/null)"; done; '
        "echo .; sleep 1; done"
    )
    reader = subprocess.Popen(
        run.hub.ssh(script), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip

    def read() -> None:
        assert reader.stdout is not None
        files: dict[str, str] = {}
        for line in reader.stdout:
            text = line.decode(errors="replace").rstrip("\n")
            if text == ".":
                run.push_files, files = files, {}
            elif "\t" in text:
                centre, _, state = text.partition("\t")
                files[centre] = state
        reader.stdout.close()

    threading.Thread(target=read, name=f"pushes-{run.hub.name}", daemon=True).start()
    return reader


def relay_problem(spec: RunSpec) -> str:
    """Why a relayed run came back without its end (no `playbook_on_stats`), as far as
    the worker's side said on stderr; empty for a run that was not relayed."""
    log = spec.private_data_dir / LOG
    if spec.via is None or not log.exists():
        return ""
    lines = log.read_text(errors="replace").strip().splitlines()
    if any("ansible-runner: not found" in line or "No such file" in line for line in lines):
        return f"hub {spec.via.name} has no lpdeploy environment: run `lpdeploy hub prepare`"
    return f"hub {spec.via.name}: {lines[-1]}" if lines else f"hub {spec.via.name}: no answer"


def _transmit(here: Path, kwargs: dict[str, Any], stream: IO[bytes]) -> None:
    with contextlib.suppress(BrokenPipeError):  # the worker died: process() says what it said
        ansible_runner.run(private_data_dir=str(here), streamer="transmit", _output=stream,
                           **kwargs)  # fmt: skip
    with contextlib.suppress(BrokenPipeError):
        stream.close()


def _stage(spec: RunSpec, here: Path, job: str) -> None:
    """The job's folder as the worker gets it: inventory/ (the spec's inventories in order,
    then connection settings for the hub), project/ (the playbooks or the module's files)
    and the pinned host keys of the centres."""
    for part in ("inventory", "project", "artifacts"):
        shutil.rmtree(here / part, ignore_errors=True)
    (here / "inventory").mkdir(parents=True)
    for number, source in enumerate(spec.inventory):
        target = here / "inventory" / f"{number:02d}-{source.name}"
        if source.is_dir():
            shutil.copytree(source, target)
        else:
            shutil.copy2(source, target)
    hosts = spec.limit.split(",") if spec.limit else []
    settings = {
        "ansible_ssh_private_key_file": "",
        "ansible_ssh_common_args": f"-o UserKnownHostsFile={job}/known_hosts "
        "-o StrictHostKeyChecking=yes -o ServerAliveInterval=5 -o ServerAliveCountMax=3",
    }
    # Host vars, to win over the user's host vars; group vars for hosts no limit names.
    document = {"all": {"hosts": dict.fromkeys(hosts, settings), "vars": settings}}
    write_atomic(here / "inventory" / "99-hub.yml", yaml.safe_dump(document).encode())
    if spec.playbook is not None:
        shutil.copytree(spec.playbook.parent, here / "project")
    else:
        (here / "project").mkdir()
    for path in spec.files:
        shutil.copy2(path, here / "project" / path.name)
    pinned = b"".join(p.read_bytes() for p in spec.known_hosts if p.is_file())
    write_atomic(here / "known_hosts", pinned)


def _on_hub(spec: RunSpec, here: Path, job: str) -> RunSpec:
    """The spec as the worker runs it: paths under this run's folder moved to the job's."""
    envvars = {k: v.replace(str(here), job) for k, v in spec.envvars.items()}
    extravars = {
        k: v.replace(str(here), job) if isinstance(v, str) else v for k, v in spec.extravars.items()
    }
    envvars["PATH"] = f"{hubs.VENV}/bin:{SYSTEM_PATH}"
    envvars["ANSIBLE_SSH_ARGS"] = ssh_args([Path(job) / "known_hosts"])
    module_args = spec.module_args
    for path in spec.files:
        module_args = module_args.replace(str(path), f"{job}/project/{path.name}")
    return RunSpec(
        private_data_dir=Path(job), inventory=[], playbook=spec.playbook, module=spec.module,
        module_args=module_args, host_pattern=spec.host_pattern, limit=spec.limit,
        forks=spec.forks, check=spec.check, extravars=extravars, envvars=envvars,
        secrets=spec.secrets,
    )  # fmt: skip
