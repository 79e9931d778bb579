"""Pinning host keys: fetch each server's key, show its fingerprint, pin it when confirmed.

Keys are pinned in lpdeploy's own known_hosts (`<state dir>/known_hosts`), which pre-flight
and every Ansible run read first. A key that differs from a pinned one is never replaced
here: the old line must be removed by hand, after checking why the server changed.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from lpdeploy.connect import TIMEOUT, Connection, Connector, direct, known_name

if TYPE_CHECKING:
    import paramiko

PREFERRED = ("ssh-ed25519", "ecdsa-sha2-nistp256", "rsa-sha2-512", "rsa-sha2-256")


@dataclass(frozen=True)
class Offered:
    host: str
    name: str
    """The name the key is filed under: address, or [address]:port."""
    key: paramiko.PKey | None
    problem: str = ""

    @property
    def fingerprint(self) -> str:
        return f"{self.key.get_name()} {self.key.fingerprint}" if self.key else ""


def fetch_keys(connections: list[Connection], connect: Connector = direct) -> list[Offered]:
    """`connect` opens the stream to a server (through a hub's SSH channels, for one)."""
    with ThreadPoolExecutor(max_workers=max(1, min(32, len(connections)))) as pool:
        return list(pool.map(lambda c: _fetch(c, connect), connections))


def _fetch(connection: Connection, connect: Connector) -> Offered:
    import paramiko  # here, not at the top: every lpdeploy command would pay its start-up

    name = known_name(connection)
    try:
        sock = connect(connection.address, connection.port)
        transport = paramiko.Transport(sock)
        try:
            options = transport.get_security_options()
            options.key_types = [k for k in PREFERRED if k in options.key_types]
            transport.start_client(timeout=TIMEOUT)
            key = transport.get_remote_server_key()
        finally:
            transport.close()
    except (OSError, paramiko.SSHException) as exc:
        return Offered(connection.host, name, None, f"no key fetched: {exc}")
    return Offered(connection.host, name, key)


def standing(offered: Offered, pinned: paramiko.HostKeys) -> str:
    """'pinned' (the same key is pinned), 'changed' (another key is) or 'new'."""
    assert offered.key is not None
    known = pinned.lookup(offered.name)
    if not known:
        return "new"
    same = known.get(offered.key.get_name())
    return "pinned" if same is not None and same == offered.key else "changed"


def load_pinned(files: list[Path]) -> paramiko.HostKeys:
    import paramiko

    keys = paramiko.HostKeys()
    for path in files:
        if path.is_file():
            keys.load(str(path))
    return keys


def pin(path: Path, offered: Offered) -> None:
    assert offered.key is not None
    path.parent.mkdir(parents=True, exist_ok=True)
    line = f"{offered.name} {offered.key.get_name()} {offered.key.get_base64()}\n"
    with path.open("a", encoding="utf-8") as handle:
        handle.write(line)
    path.chmod(0o600)
