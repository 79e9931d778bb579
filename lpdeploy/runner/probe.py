"""Read one small file from many servers in one Ansible round (as cheap as a ping)."""

from __future__ import annotations

import base64
from pathlib import Path

from lpdeploy.runner.hub import Hub
from lpdeploy.runner.run import run_to_end
from lpdeploy.runner.spec import build_spec


def read_remote_file(
    workdir: Path,
    inventories: list[Path],
    pattern: str,
    hosts: list[str],
    path: str,
    known_hosts: list[Path] | None = None,
    via: Hub | None = None,
) -> dict[str, str | None]:
    """The text of `path` on each host; None where it is missing or the host did not answer."""
    spec = build_spec(
        workdir, inventories, module="ansible.builtin.slurp", module_args=f"src={path}",
        limit=",".join(hosts), host_pattern=pattern, known_hosts=known_hosts or [], via=via,
    )  # fmt: skip
    found: dict[str, str | None] = dict.fromkeys(hosts)
    for event in run_to_end(spec):
        data = event.get("event_data") or {}
        content = (data.get("res") or {}).get("content")
        if event.get("event") == "runner_on_ok" and data.get("host") in found and content:
            found[data["host"]] = base64.b64decode(content).decode("utf-8", "replace").strip()
    return found
