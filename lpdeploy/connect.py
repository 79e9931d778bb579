"""The floor every connection to a server stands on: how a host is reached, where its
pinned host key is read from, the paramiko session that accepts only that key, and the
stream a session runs over (a socket, or a channel a hub opens). Pre-flight, the runner,
verify and the hub relay call down into it; it calls up into none of them.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from lpdeploy.errors import NotRightError
from lpdeploy.settings import state_dir

if TYPE_CHECKING:
    import paramiko

TIMEOUT = 8.0
"""Seconds to connect, exchange banners, log in, or run one short command."""


@dataclass(frozen=True)
class Connection:
    """How Ansible reaches one host, as the inventory says."""

    host: str
    address: str
    port: int = 22
    user: str = ""
    key_file: str = ""
    known_hosts: tuple[str, ...] = ()
    """UserKnownHostsFile named in the host's SSH arguments, if any."""


class Stream(Protocol):
    """What a connector returns: a socket, or an SSH channel through the hub."""

    def sendall(self, data: bytes, /) -> Any: ...
    def recv(self, size: int, /) -> bytes: ...
    def close(self) -> None: ...
    def settimeout(self, timeout: float | None, /) -> None: ...


Connector = Callable[[str, int], Any]
"""Open a stream to (address, port)."""


def direct(address: str, port: int) -> socket.socket:
    return socket.create_connection((address, port), TIMEOUT)


def pinned_files(connections: Iterable[Connection]) -> list[Path]:
    """Where pinned host keys are read from: lpdeploy's own known_hosts (`lpdeploy trust`
    writes it), the files the inventory names, then ~/.ssh/known_hosts."""
    named = [Path(f).expanduser() for c in connections for f in c.known_hosts]
    found = [state_dir() / "known_hosts", *named, Path.home() / ".ssh" / "known_hosts"]
    return list(dict.fromkeys(found))


def known_name(connection: Connection) -> str:
    """The name a host's key is filed under in known_hosts."""
    port = connection.port
    return connection.address if port == 22 else f"[{connection.address}]:{port}"


def pinned_client(
    connection: Connection, files: list[Path], sock: object = None, timeout: float = TIMEOUT
) -> paramiko.SSHClient:
    """An SSH session that accepts only a host key pinned in `files` (RejectPolicy: an
    unknown key is refused, never added) and logs in with the inventory's user and key.
    `sock`: a stream already open to the server (a socket, or a channel through a hub)."""
    import paramiko

    client = paramiko.SSHClient()
    for path in files:  # as "system" keys: paramiko never writes those back
        if path.is_file():
            client.load_system_host_keys(str(path))
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    try:
        client.connect(
            connection.address, port=connection.port, username=connection.user or None,
            key_filename=connection.key_file or None, sock=sock, timeout=timeout,  # type: ignore[arg-type]
            banner_timeout=timeout, auth_timeout=timeout, allow_agent=not connection.key_file,
            look_for_keys=not connection.key_file,
        )  # fmt: skip
    except BaseException:
        client.close()
        raise
    return client


def server_arch(connection: Connection, files: list[Path]) -> str:
    """A server's Debian architecture, asked over SSH with its pinned host key."""
    import paramiko

    try:
        client = pinned_client(connection, files)
    except (paramiko.SSHException, OSError, EOFError) as exc:
        raise NotRightError(f"{connection.host}: SSH: {exc}") from None
    try:
        _, stdout, _ = client.exec_command("dpkg --print-architecture", timeout=TIMEOUT)
        return stdout.read().decode(errors="replace").strip()
    finally:
        client.close()
