"""Fetch each centre's usage rows: one Ansible round runs the collector on every server
(through a hub where one is named) and hands back what it printed."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import ValidationError

from lpdeploy.connect import pinned_files
from lpdeploy.inventory.connections import centre_connections
from lpdeploy.inventory.render import GROUP
from lpdeploy.output import write_atomic
from lpdeploy.plan.model import Plan
from lpdeploy.runner.hub import hub_from
from lpdeploy.runner.inventory import inventory_connections
from lpdeploy.runner.run import run_to_end
from lpdeploy.runner.spec import build_spec
from lpdeploy.usage.model import UsageFile

COLLECTOR = "/usr/local/sbin/lpdeploy-usage"


def collect_usage(
    plan: Plan, inventory: Path | None, workdir: Path, via: str | None = None
) -> tuple[list[UsageFile], dict[str, str]]:
    """Each centre's usage file, and why each centre that gave none did not."""
    cache = workdir.parent / "cache"
    connections = centre_connections(plan, inventory, cache)
    hub = None
    if via is not None and inventory is not None:
        hub = hub_from(via, inventory_connections(inventory, cache))
    hosts = [c.id for c in plan.centres]
    generated = workdir / "usage.yml"
    entries = (
        {c: {"ansible_host": connections[c].address} for c in hosts}
        if inventory is None
        else dict.fromkeys(hosts)
    )
    write_atomic(generated, yaml.safe_dump({GROUP: {"hosts": entries}}).encode(), mode=0o600)
    inventories = [inventory, generated] if inventory else [generated]
    spec = build_spec(
        workdir / "collect", inventories, module="ansible.builtin.command",
        module_args=f"{COLLECTOR} collect", host_pattern=GROUP, limit=",".join(hosts),
        forks=max(5, len(hosts)), known_hosts=pinned_files(connections.values()), via=hub,
    )  # fmt: skip
    found: list[UsageFile] = []
    failed: dict[str, str] = {}
    for event in run_to_end(spec):
        data = event.get("event_data") or {}
        host, result = data.get("host"), data.get("res") or {}
        if host not in hosts:
            continue
        kind = event.get("event")
        if kind == "runner_on_ok":
            try:
                usage = UsageFile.model_validate_json(str(result.get("stdout", "")))
            except ValidationError as exc:
                failed[host] = f"the collector's answer is not a usage file: {exc.error_count()}"
                continue
            if usage.centre != host:
                failed[host] = f"the server says it is centre {usage.centre}"
                continue
            found.append(usage)
        elif kind in ("runner_on_unreachable", "runner_on_failed"):
            failed[host] = str(result.get("stderr") or result.get("msg", ""))[-300:]
    for host in hosts:
        if host not in failed and all(u.centre != host for u in found):
            failed[host] = "no answer from Ansible"
    return sorted(found, key=lambda u: u.centre), failed
