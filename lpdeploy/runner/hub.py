"""A regional hub: a server near the centres that runs Ansible for lpdeploy.

The engineer's machine reaches the hub once, over whatever link there is; the hub reaches
the centres. Jobs go to it with ansible-runner's transmit / worker / process streaming over
one SSH pipe (relay.py); files go with rsync; checks from this machine reach the centres
through SSH channels the hub opens (`tunnel`).
"""

from __future__ import annotations

import contextlib
import shlex
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lpdeploy.connect import Connection, Connector, pinned_client, pinned_files
from lpdeploy.errors import InputError, NotRightError
from lpdeploy.plan.model import Plan

ROOT = "/var/lib/lpdeploy-hub"
"""Where the hub keeps bundles, packages and running jobs."""
VENV = "/opt/lpdeploy-hub"
"""The hub's Python environment (ansible-runner, ansible-core, lpdeploy), from the kit."""
TIMEOUT = 10.0
REOPEN = 2
"""How many times a tunnel opens a new connection to the hub when its own dropped."""


@dataclass(frozen=True)
class Hub:
    """How to reach the hub, and what its Ansible needs to reach the centres."""

    name: str
    connection: Connection
    known_hosts: tuple[Path, ...]
    """Files the hub's own host key is pinned in, on this machine."""
    centre_key: Path | None = None
    """The key the hub's Ansible logs in to the centres with: handed to ssh-agent on the hub
    for each job (through a fifo, never a file), never stored there."""

    @property
    def target(self) -> str:
        user = self.connection.user
        return f"{user}@{self.connection.address}" if user else self.connection.address

    def ssh_options(self) -> list[str]:
        files = " ".join(str(p) for p in self.known_hosts)
        options = [
            "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes",
            "-o", f"UserKnownHostsFile={files}", "-o", f"ConnectTimeout={TIMEOUT:g}",
            "-o", "ServerAliveInterval=5", "-o", "ServerAliveCountMax=3", "-o", "LogLevel=ERROR",
            "-p", str(self.connection.port),
        ]  # fmt: skip
        if self.connection.key_file:
            options += ["-i", self.connection.key_file]
        return options

    def ssh(self, script: str) -> list[str]:
        """An ssh command line running `script` (POSIX sh) on the hub."""
        return ["ssh", *self.ssh_options(), self.target, script]

    def run(self, script: str, timeout: float = 60.0) -> str:
        """Run a short script on the hub; its stdout, or NotRightError saying what failed."""
        try:
            done = subprocess.run(
                self.ssh(script), capture_output=True, text=True, timeout=timeout, check=False
            )
        except subprocess.TimeoutExpired:
            raise NotRightError(f"hub {self.name}: no answer in {timeout:g} s") from None
        if done.returncode != 0:
            said = (done.stderr.strip() or done.stdout.strip()).splitlines()
            raise NotRightError(
                f"hub {self.name}: {said[-1] if said else f'exit {done.returncode}'}"
            )
        return done.stdout

    def push(
        self,
        source: Path,
        target: str,
        checksum: bool = False,
        bwlimit_kib: int = 0,
        stop: threading.Event | None = None,
    ) -> int:
        """rsync a folder or file to `target` on the hub (resumable; nothing sent twice).
        `checksum`: compare by content, not size and time (a file `hub prepare` copied
        there has another mtime); `bwlimit_kib`: rsync's --bwlimit (0: none); `stop`, once
        set, ends the copy (NotRightError). The bytes rsync sent."""
        rsh = shlex.join(["ssh", *self.ssh_options()])
        folder = source.is_dir()
        command = [
            "rsync", "--recursive", "--times", "--inplace", "--mkpath", "--stats", f"--rsh={rsh}",
            *(["--delete"] if folder else []), *(["--checksum"] if checksum else []),
            *([f"--bwlimit={bwlimit_kib}"] if bwlimit_kib else []),
            f"{source}/" if folder else str(source),
            f"{self.target}:{target}/" if folder else f"{self.target}:{target}",
        ]  # fmt: skip
        copy = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        while True:
            try:
                out, errors = copy.communicate(timeout=0.5)
                break
            except subprocess.TimeoutExpired:
                if stop is not None and stop.is_set():
                    copy.terminate()
                    copy.communicate()
                    raise NotRightError(f"hub {self.name}: copying {source} stopped") from None
        if copy.returncode != 0:
            said = errors.strip().splitlines()
            raise NotRightError(
                f"hub {self.name}: copying {source} failed: {said[-1] if said else copy.returncode}"
            )
        for line in out.splitlines():
            if line.startswith("Total bytes sent:"):
                return int(line.split(":")[1].strip().replace(",", ""))
        return 0

    @contextlib.contextmanager
    def tunnel(self) -> Iterator[Connector]:
        """A connector whose streams are SSH channels the hub opens to the centres. Should
        the connection to the hub drop (a cut on its link), the next stream asked for opens
        a new one, up to REOPEN times: the centres not yet reached are still reached."""
        import paramiko  # here, not at the top: every lpdeploy command would pay its start-up

        def open_client() -> paramiko.SSHClient:
            try:
                client = pinned_client(self.connection, list(self.known_hosts), timeout=TIMEOUT)
            except (paramiko.SSHException, OSError, EOFError) as exc:
                raise NotRightError(f"hub {self.name}: {self.target}: {exc}") from None
            transport = client.get_transport()
            assert transport is not None
            transport.set_keepalive(5)
            return client

        clients = [open_client()]
        lock = threading.Lock()

        def transport() -> paramiko.Transport:
            with lock:
                current = clients[-1].get_transport()
                if (current is None or not current.is_active()) and len(clients) <= REOPEN:
                    try:
                        clients.append(open_client())
                    except NotRightError as exc:  # it says which hub
                        raise OSError(str(exc)) from None
                    current = clients[-1].get_transport()
                assert current is not None
                return current

        def connect(address: str, port: int) -> Any:
            for attempt in (1, 2):
                try:
                    return transport().open_channel(
                        "direct-tcpip", (address, port), ("127.0.0.1", 0), timeout=TIMEOUT
                    )
                except paramiko.ChannelException as exc:  # the hub could not reach the centre
                    raise OSError(exc.code, f"through hub {self.name}: {exc.text}") from None
                except (paramiko.SSHException, EOFError) as exc:  # the hub's connection dropped
                    if attempt == 2:
                        said = exc or "connection closed"
                        raise OSError(f"through hub {self.name}: {said}") from None
            raise AssertionError("unreachable")

        try:
            yield connect
        finally:
            for client in clients:
                client.close()


def hub_from(name: str, connections: dict[str, Connection]) -> Hub:
    """The hub named `name` in the inventory, its host key pinned where the inventory says
    (or lpdeploy's own known_hosts); the centres' key comes from the inventory too."""
    connection = connections.get(name)
    if connection is None:
        raise InputError.single(
            name, "not a host of the inventory: a hub (--via, or a hub of the plan) is named "
            "as the inventory names it", "--via",
        )  # fmt: skip
    keys = {c.key_file for host, c in connections.items() if host != name and c.key_file}
    if len(keys) > 1:
        raise InputError.single(
            name, f"the centres use {len(keys)} SSH keys; through a hub they must share one",
            "--via",
        )  # fmt: skip
    key = Path(keys.pop()).expanduser() if keys else None
    if key is not None and not key.is_file():
        raise InputError.single(str(key), "the centres' SSH key file is not there")
    pinned = tuple(pinned_files([connection]))
    return Hub(name=name, connection=connection, known_hosts=pinned, centre_key=key)


def plan_hubs(
    plan: Plan, centres: dict[str, Connection], inventory: dict[str, Connection] | None
) -> dict[str, Hub]:
    """Each hub of the plan by id: found among the inventory's hosts (None: no inventory,
    then at the plan's host of the hub), with the key of the centres it serves."""
    found = {}
    for planned in plan.hubs:
        own = {c.id: centres[c.id] for c in plan.centres if c.hub == planned.id and c.id in centres}
        if inventory is not None and planned.id in inventory:
            own[planned.id] = inventory[planned.id]
        elif inventory is None and planned.host:
            own[planned.id] = Connection(host=planned.id, address=planned.host)
        found[planned.id] = hub_from(planned.id, own)
    return found
