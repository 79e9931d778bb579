"""Ask Ansible which hosts an inventory defines (any inventory source it understands)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import ansible_runner

from lpdeploy.errors import InputError
from lpdeploy.runner.spec import tool_path


def inventory_hosts(inventory: Path) -> set[str]:
    if not inventory.exists():
        raise InputError.single(str(inventory), "inventory not found")
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
    hosts = set(hostvars)
    for group in out.values():
        if isinstance(group, dict):
            hosts.update(group.get("hosts", []))
    return hosts
