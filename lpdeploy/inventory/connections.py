"""How each of a plan's centres is reached: the inventory's word, else the plan's `host`."""

from __future__ import annotations

from pathlib import Path

from lpdeploy.connect import Connection
from lpdeploy.errors import InputError
from lpdeploy.inventory.skeleton import refuse_placeholders
from lpdeploy.plan.model import Plan
from lpdeploy.runner.inventory import inventory_connections


def centre_connections(
    plan: Plan, inventory: Path | None, cache: Path | None
) -> dict[str, Connection]:
    """Every centre's connection; a centre the inventory lacks, or without a host when
    there is no inventory, or still with a skeleton's placeholder, is an input error
    naming it."""
    if inventory is None:
        missing = [c.id for c in plan.centres if not c.host]
        if missing:
            raise InputError.single(
                "plan", f"centres without a host: {', '.join(missing)} (give --inventory)"
            )
        return {c.id: Connection(host=c.id, address=str(c.host)) for c in plan.centres}
    known = inventory_connections(inventory, cache)
    missing = [c.id for c in plan.centres if c.id not in known]
    if missing:
        raise InputError.single(
            str(inventory), f"centres not in the inventory: {', '.join(missing)}"
        )
    found = {c.id: known[c.id] for c in plan.centres}
    refuse_placeholders(found, str(inventory))
    return found
