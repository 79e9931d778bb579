"""Ask Ansible which hosts an inventory defines (any inventory source it understands)."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import ansible_runner

from lpdeploy.errors import InputError
from lpdeploy.output import write_atomic
from lpdeploy.runner.spec import tool_path


def inventory_hosts(inventory: Path, cache: Path | None = None) -> set[str]:
    return set(inventory_addresses(inventory, cache))


def inventory_addresses(inventory: Path, cache: Path | None = None) -> dict[str, str]:
    """Each host of an inventory with the address Ansible connects to. A static inventory
    file (not a folder, not a script) is listed once per content: the answer is kept in
    `cache` under the file's sha256."""
    if not inventory.exists():
        raise InputError.single(str(inventory), "inventory not found")
    static = inventory.is_file() and not os.access(inventory, os.X_OK)
    key = hashlib.sha256(inventory.read_bytes()).hexdigest() if static else None
    cached = cache / f"inventory-{key}.v2.json" if cache is not None and key else None
    if cached is not None and cached.exists():
        return dict(json.loads(cached.read_text()))
    hosts = _list_hosts(inventory)
    if cached is not None:
        write_atomic(cached, json.dumps(hosts, sort_keys=True).encode())
    return hosts


def _list_hosts(inventory: Path) -> dict[str, str]:
    os.environ["PATH"] = tool_path()  # ansible-runner looks ansible-inventory up on PATH
    out, err = ansible_runner.get_inventory(
        action="list",
        inventories=[str(inventory.resolve())],
        response_format="json",
        quiet=True,
        envvars={"PATH": tool_path()},
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
    return {name: str(hostvars.get(name, {}).get("ansible_host", name)) for name in names}
