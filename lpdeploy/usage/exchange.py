"""Usage exports: a folder of usage files (`centres/<centre>.json`) and `manifest.json`,
every file's size and sha256. Written by `usage collect` and `usage export` here, and by
`lpdeploy-usage export` on a centre; read by `usage import`, which refuses a whole export
when anything in it is damaged, missing, extra or not a usage file (exit 1), or a file is
beyond the input limits of lpdeploy.document (exit 2)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from pathlib import Path

from pydantic import ValidationError

from lpdeploy.document import MAX_JSON_BYTES, read_bytes, read_json
from lpdeploy.errors import LpdeployError
from lpdeploy.output import canonical_json, write_atomic
from lpdeploy.usage.model import ExportFile, ExportManifest, UsageFile

MANIFEST = "manifest.json"


class RefusedExportError(LpdeployError):
    """An export that is damaged or not an lpdeploy usage export: nothing is merged."""

    exit_code = 1


def write_export(folder: Path, files: list[UsageFile]) -> list[ExportFile]:
    entries = []
    for usage in files:
        data = usage.model_dump_json().encode() + b"\n"
        path = f"centres/{usage.centre}-{usage.collected_at:.6f}.json"
        write_atomic(folder / path, data)
        entries.append(
            ExportFile(path=path, size=len(data), sha256=hashlib.sha256(data).hexdigest())
        )
    entries.sort(key=lambda e: e.path)
    write_atomic(folder / MANIFEST, canonical_json(ExportManifest(files=entries)))
    return entries


def check_export(folder: Path) -> list[Path]:
    """The usage files of an export, each one's size and sha256 checked against the
    manifest, nothing missing, nothing extra; or RefusedExportError."""
    where = f"{folder}: "
    if not (folder / MANIFEST).is_file():
        raise RefusedExportError(where + "no manifest.json: not a usage export")
    try:
        manifest = ExportManifest.model_validate_json(read_json(folder / MANIFEST))
    except ValidationError as exc:
        why = f"manifest.json is not a usage export manifest: {exc}"
        raise RefusedExportError(where + why) from None
    listed = {entry.path for entry in manifest.files}
    found = {
        p.relative_to(folder).as_posix()
        for p in folder.rglob("*")
        if p.is_file() and p.name != MANIFEST
    }
    problems = [f"{path}: not in the manifest" for path in sorted(found - listed)]
    problems += [f"{path}: missing" for path in sorted(listed - found)]
    paths = []
    for entry in manifest.files:
        if entry.path not in found:
            continue
        if ".." in entry.path.split("/") or entry.path.startswith("/"):
            problems.append(f"{entry.path}: path leaves the export")
            continue
        data = read_bytes(folder / entry.path, MAX_JSON_BYTES)
        if len(data) != entry.size or hashlib.sha256(data).hexdigest() != entry.sha256:
            problems.append(f"{entry.path}: size or sha256 does not match the manifest")
            continue
        paths.append(folder / entry.path)
    if problems:
        raise RefusedExportError(where + "refused, nothing merged: " + "; ".join(problems[:10]))
    return paths


def load_files(paths: Iterable[Path]) -> Iterator[UsageFile]:
    """Each checked file, parsed when it is needed (a merge holds one at a time); a file
    that is not a usage file raises RefusedExportError, and the merge rolls back."""
    for path in paths:
        try:
            yield UsageFile.model_validate_json(read_json(path))
        except ValidationError as exc:
            why = f"not a usage file ({exc.error_count()} problems)"
            raise RefusedExportError(f"{path}: refused, nothing merged: {why}") from None


def read_export(folder: Path) -> list[UsageFile]:
    return list(load_files(check_export(folder)))
