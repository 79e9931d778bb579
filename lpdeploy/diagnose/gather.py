"""Diagnostics archives of a plan's centres: the collector runs on every server in one
Ansible round (through a hub where one is named) and prints its archive; here each gets
what only this machine knows (the centre's plan, its last runs) and a last pass that
replaces each of the profile's secret values wherever it appears."""

from __future__ import annotations

import base64
import binascii
import io
import json
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lpdeploy.diagnose import collector
from lpdeploy.output import write_atomic
from lpdeploy.plan.model import Plan
from lpdeploy.runner.centres import reach_centres, run_on_centres

COLLECTOR = Path(collector.__file__)
MAX_ARCHIVE = 16 * 1024 * 1024
"""Bytes of archive taken from a server: the collector's parts are bounded far below it."""


@dataclass
class Diagnosis:
    written: dict[str, Path] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)


def diagnose_centres(
    plan: Plan,
    inventory: Path | None,
    workdir: Path,
    out: Path,
    *,
    secrets: dict[str, str],
    runs: dict[str, Any],
    limit: set[str] | None = None,
    via: str | None = None,
) -> Diagnosis:
    """An archive `out/<centre>.tar.gz` for each centre (or each of `limit`); `runs`, per
    centre, what the journal says of its last runs."""
    cache = workdir.parent / "cache"
    everyone, hubs = reach_centres(plan, inventory, cache, via)
    connections = {c: found for c, found in everyone.items() if limit is None or c in limit}
    answers = run_on_centres(
        workdir, inventory, connections, module="ansible.builtin.script",
        module_args=f"{COLLECTOR} --stdout executable=python3", files=[COLLECTOR], hubs=hubs,
    )  # fmt: skip
    values = tuple(secrets.values())
    planned = {c.id: c for c in plan.centres}
    result = Diagnosis()
    for centre, answer in sorted(answers.items()):
        if answer.outcome != "ok":
            result.failed[centre] = answer.message or answer.outcome
            continue
        try:
            found, about = unpack(str(answer.result.get("stdout", "")))
        except ValueError as exc:
            result.failed[centre] = f"the collector's answer is not an archive: {exc}"
            continue
        found["controller/plan-centre.json"] = planned[centre].model_dump_json(indent=2)
        found["controller/runs.json"] = json.dumps(runs.get(centre), indent=2, default=str)
        about |= {"centre": centre, "plan": plan.profile.name}
        path = out / f"{centre}.tar.gz"
        write_atomic(path, collector.archive(found, about, values, rules=False), mode=0o600)
        result.written[centre] = path
    return result


def unpack(encoded: str) -> tuple[dict[str, str], dict[str, object]]:
    """The parts of a collector's archive, and its manifest less the list of parts."""
    try:
        data = base64.b64decode("".join(encoded.split()), validate=True)  # a tty's \r\n
    except binascii.Error as exc:
        raise ValueError(str(exc)) from None
    if len(data) > MAX_ARCHIVE:
        raise ValueError(f"{len(data)} bytes, more than {MAX_ARCHIVE}")
    found: dict[str, str] = {}
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
            for member in tar.getmembers():
                handle = tar.extractfile(member) if member.isfile() else None
                if handle is not None:
                    found[member.name] = handle.read(collector.MAX_BYTES).decode("utf-8", "replace")
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise ValueError(str(exc)) from None
    try:
        manifest = json.loads(found.pop("MANIFEST.json", "{}"))
    except (ValueError, RecursionError):
        manifest = None
    if not isinstance(manifest, dict):
        raise ValueError("its MANIFEST.json is not a JSON object")
    return found, {k: v for k, v in manifest.items() if k != "parts"}


def diagnose_here(out: Path) -> Path:
    """The archive of the machine this runs on (a server or a hub with no controller)."""
    path = out / f"{collector.here()['host']}.tar.gz"
    write_atomic(path, collector.archive(collector.parts(), collector.here()), mode=0o600)
    return path
