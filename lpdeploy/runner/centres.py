"""One ad-hoc Ansible round on a plan's centres, through a hub where one is named: what
verify's server checks, usage collect and diagnose each run on every server."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml

from lpdeploy.connect import Connection, pinned_files
from lpdeploy.inventory.connections import centre_connections
from lpdeploy.inventory.render import GROUP
from lpdeploy.output import write_atomic
from lpdeploy.plan.model import Plan
from lpdeploy.runner.hub import Hub, hub_from, plan_hubs
from lpdeploy.runner.inventory import inventory_connections
from lpdeploy.runner.run import run_to_end
from lpdeploy.runner.spec import build_spec

Outcome = Literal["ok", "failed", "unreachable"]
OUTCOMES: dict[str, Outcome] = {
    "runner_on_ok": "ok",
    "runner_on_failed": "failed",
    "runner_on_unreachable": "unreachable",
}


@dataclass(frozen=True)
class Answer:
    """What Ansible said of one centre: its module's result, or why there is none."""

    outcome: Outcome
    result: dict[str, Any]

    @property
    def message(self) -> str:
        return str(self.result.get("stderr") or self.result.get("msg", ""))[-300:]


def reach_centres(
    plan: Plan, inventory: Path | None, cache: Path, via: str | None
) -> tuple[dict[str, Connection], dict[str, Hub]]:
    """Each centre's connection, and the hub that reaches each centre one does: `via`'s
    for all of them, else the plan's hub of each (found in the inventory, or at the plan's
    host of the hub without one)."""
    connections = centre_connections(plan, inventory, cache)
    everyone = inventory_connections(inventory, cache) if inventory is not None else {}
    if via is not None:
        if inventory is None:
            return connections, {}
        hub = hub_from(via, everyone)
        return connections, dict.fromkeys(connections, hub)
    found = plan_hubs(plan, connections, everyone if inventory is not None else None)
    hubs = {c.id: found[c.hub] for c in plan.centres if c.hub and c.id in connections}
    return connections, hubs


def run_on_centres(
    workdir: Path,
    inventory: Path | None,
    connections: dict[str, Connection],
    *,
    module: str,
    module_args: str,
    host_vars: dict[str, dict[str, Any]] | None = None,
    files: Sequence[Path] = (),
    hubs: dict[str, Hub] | None = None,
) -> dict[str, Answer]:
    """Run `module` on every centre of `connections` at once, each hub's share through
    that hub (`hubs`: the hub of each centre one reaches); an answer for each centre (one
    Ansible said nothing of is unreachable, with its hub's words where it spoke)."""
    found_hub = {hub.name: hub for hub in (hubs or {}).values()}
    shares: dict[str | None, dict[str, Connection]] = {}
    for host, connection in connections.items():
        hub = (hubs or {}).get(host)
        shares.setdefault(hub.name if hub else None, {})[host] = connection

    def run(share: tuple[str | None, dict[str, Connection]]) -> dict[str, Answer]:
        name, own = share
        hub = found_hub.get(name) if name else None
        folder = workdir if len(shares) == 1 else workdir / (name or "direct")
        return _run_share(folder, inventory, own, module, module_args, host_vars, files, hub)

    answers: dict[str, Answer] = {}
    with ThreadPoolExecutor(max_workers=max(1, min(8, len(shares)))) as pool:
        for found in pool.map(run, shares.items()):
            answers |= found
    return answers


def _run_share(
    workdir: Path,
    inventory: Path | None,
    connections: dict[str, Connection],
    module: str,
    module_args: str,
    host_vars: dict[str, dict[str, Any]] | None,
    files: Sequence[Path],
    hub: Hub | None,
) -> dict[str, Answer]:
    hosts = sorted(connections)
    if not hosts:
        return {}
    workdir.mkdir(parents=True, exist_ok=True)
    entries = {host: dict((host_vars or {}).get(host, {})) for host in hosts}
    if inventory is None:
        for host in hosts:
            entries[host]["ansible_host"] = connections[host].address
    generated = workdir / "centres.yml"
    write_atomic(generated, yaml.safe_dump({GROUP: {"hosts": entries}}).encode(), mode=0o600)
    spec = build_spec(
        workdir / "run", [inventory, generated] if inventory else [generated], module=module,
        module_args=module_args, host_pattern=GROUP, limit=",".join(hosts),
        forks=max(5, len(hosts)), known_hosts=pinned_files(connections.values()), files=files,
        via=hub,
    )  # fmt: skip
    answers: dict[str, Answer] = {}
    for event in run_to_end(spec):
        data = event.get("event_data") or {}
        host = str(data.get("host"))
        outcome = OUTCOMES.get(str(event.get("event")))
        if host in connections and outcome is not None:
            answers[host] = Answer(outcome, data.get("res") or {})
    if len(answers) < len(hosts):
        from lpdeploy.runner.relay import relay_problem

        why = relay_problem(spec) or "no answer from Ansible"
        for host in hosts:
            answers.setdefault(host, Answer("unreachable", {"msg": why}))
    return answers
