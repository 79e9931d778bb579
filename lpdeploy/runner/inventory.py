"""Ask Ansible which hosts an inventory defines (any inventory source it understands)."""

from __future__ import annotations

import hashlib
import json
import os
import shlex
import tempfile
from pathlib import Path
from typing import Any

import ansible_runner

from lpdeploy.connect import Connection
from lpdeploy.document import MAX_YAML_BYTES, check_yaml, read_text
from lpdeploy.errors import InputError
from lpdeploy.output import write_atomic
from lpdeploy.runner.spec import tool_path

YAML_SUFFIXES = ("", ".yml", ".yaml", ".json")
"""Files Ansible reads as YAML: a .yml or .yaml must be YAML; a .json (which Ansible reads as
JSON first) or a file without a suffix (often INI) need only be harmless as YAML."""
CONNECTION_VARS = (
    "ansible_host",
    "ansible_port",
    "ansible_user",
    "ansible_ssh_private_key_file",
    "ansible_ssh_common_args",
    "ansible_ssh_extra_args",
)


def inventory_connections(inventory: Path, cache: Path | None = None) -> dict[str, Connection]:
    """Each host of an inventory and how Ansible connects to it. A static inventory
    file (not a folder, not a script) is listed once per content: the answer is kept in
    `cache` under the file's sha256."""
    if not inventory.exists():
        raise InputError.single(str(inventory), "inventory not found")
    _check_sources(inventory)
    static = inventory.is_file() and not os.access(inventory, os.X_OK)
    key = hashlib.sha256(inventory.read_bytes()).hexdigest() if static else None
    cached = cache / f"inventory-{key}.v3.json" if cache is not None and key else None
    if cached is not None and cached.exists():
        listed = json.loads(cached.read_text())
    else:
        listed = _list_hosts(inventory)
        if cached is not None:
            write_atomic(cached, json.dumps(listed, sort_keys=True).encode())
    return {host: _connection(host, found) for host, found in listed.items()}


def _check_sources(inventory: Path) -> None:
    """Refuse what Ansible would read of an inventory when it is built to exhaust it: the
    file and the group_vars/ and host_vars/ beside it, or a folder's files (hidden ones
    aside, as Ansible does, and scripts, which it runs)."""
    if inventory.is_dir():
        folders, paths = [inventory], []
    else:
        folders = [inventory.parent / "group_vars", inventory.parent / "host_vars"]
        paths = [inventory]
    for folder in folders:
        for path in sorted(folder.rglob("*")):
            if not any(part.startswith(".") for part in path.relative_to(folder).parts):
                paths.append(path)
    for path in paths:
        if not path.is_file() or os.access(path, os.X_OK):
            continue
        # Ansible's ini parser takes almost anything for host names: text or nothing.
        text = read_text(path, MAX_YAML_BYTES)
        if path.suffix in YAML_SUFFIXES:
            check_yaml(text, str(path), lenient=path.suffix in ("", ".json"))


def _connection(host: str, found: dict[str, Any]) -> Connection:
    args = " ".join(str(found.get(k) or "") for k in CONNECTION_VARS[4:])
    try:
        words = shlex.split(args)
    except ValueError:
        words = args.split()
    files: list[str] = []
    for word in words:
        if word.startswith("UserKnownHostsFile="):
            files += word.split("=", 1)[1].split()
    try:
        port = int(found.get("ansible_port") or 22)
    except ValueError:
        port = 22
    return Connection(
        host=host,
        address=str(found.get("ansible_host") or host),
        port=port,
        user=str(found.get("ansible_user") or ""),
        key_file=str(found.get("ansible_ssh_private_key_file") or ""),
        known_hosts=tuple(files),
    )


def _list_hosts(inventory: Path) -> dict[str, dict[str, Any]]:
    os.environ["PATH"] = tool_path()  # ansible-runner looks ansible-inventory up on PATH
    # ansible-runner keeps a folder of artifacts, with the whole environment (secrets
    # included), for each call: in one of ours that goes away at once, not in /tmp.
    with tempfile.TemporaryDirectory(prefix="lpdeploy-inventory-") as scratch:
        out, err = ansible_runner.get_inventory(
            action="list",
            inventories=[str(inventory.resolve())],
            response_format="json",
            quiet=True,
            envvars={"PATH": tool_path()},
            private_data_dir=scratch,
        )
    if not isinstance(out, dict):
        try:
            out = json.loads(out) if out else None
        except ValueError:
            out = None
    if not isinstance(out, dict):
        said = (err or "").strip().splitlines()
        raise InputError.single(
            str(inventory), f"Ansible cannot read it: {said[-1] if said else 'no hosts'}"
        )
    hostvars = out.get("_meta", {}).get("hostvars", {})
    names = set(hostvars)
    for group in out.values():
        if isinstance(group, dict):
            names.update(group.get("hosts", []))
    return {
        name: {k: v for k, v in hostvars.get(name, {}).items() if k in CONNECTION_VARS}
        for name in names
    }
