"""Verify a bundle: manifest, every file's size and sha256, extra files, signature."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from lpdeploy.bundle.build import CONTENT, MANIFEST, SIGNATURE
from lpdeploy.bundle.hashing import ParallelHash, Result
from lpdeploy.bundle.keys import PublicKey, read_signature
from lpdeploy.bundle.manifest import BundleManifest, FileEntry, unsafe_path
from lpdeploy.document import Document, load_json, validate
from lpdeploy.errors import InputError

Found = tuple[str, int]
"""(kind, size) of what is at a path: file, link, other."""
KIND_PROBLEMS = {
    "missing": "missing",
    "link": "is a symbolic link (bundles hold only files)",
    "behind-link": "is reached through a symbolic link",
    "other": "not a regular file",
}
"""What is wrong with a manifest's file that is not a regular file where it says."""


class Problem(BaseModel):
    path: str
    problem: str


class Verdict(BaseModel):
    """The result of `bundle verify` (its --json document)."""

    ok: bool
    bundle: str
    signature: str
    files: int
    size_bytes: int
    problems: list[Problem]


def verify_bundle(folder: Path, trusted: list[PublicKey]) -> Verdict:
    """Check everything; raise InputError only when the manifest itself is malformed."""
    if not folder.is_dir():
        raise InputError.single(str(folder), "not a bundle folder")
    content = folder / CONTENT
    found = walk_content(content)
    files = sorted(path for path, (kind, _) in found.items() if kind == "file")
    sizes = [found[path][1] for path in files]
    # The workers hash every file found while this process reads the manifest.
    paths = [f"{content}/{path}" for path in files]
    with ParallelHash(paths, sizes) as pending:
        doc = load_json(folder / MANIFEST)
        problems, safe = _unsafe_entries(doc)
        manifest: BundleManifest = validate(BundleManifest, doc, {**doc.data, "files": safe})
        problems += [Problem(path=MANIFEST, problem=p) for p in manifest.inconsistencies()]
        signature, sig_problems = check_signature(
            folder / SIGNATURE, doc.text.encode("utf-8"), trusted, MANIFEST
        )
        hashes = dict(zip(files, pending.results(), strict=True))
    problems += _check_files(manifest.files, found, hashes)
    problems += _extra_files(folder, {f.path for f in manifest.files} | set(_raw_paths(doc)), found)
    problems += sig_problems
    return Verdict(
        ok=not problems,
        bundle=manifest.name,
        signature=signature,
        files=len(manifest.files),
        size_bytes=manifest.size_bytes,
        problems=problems,
    )


def _raw_paths(doc: Document) -> list[str]:
    files = doc.data.get("files")
    if not isinstance(files, list):
        return []
    return [f["path"] for f in files if isinstance(f, dict) and isinstance(f.get("path"), str)]


def _unsafe_entries(doc: Document) -> tuple[list[Problem], Any]:
    """Entries whose path could reach outside content/ are tampering, not a malformed file."""
    files = doc.data.get("files")
    if not isinstance(files, list):
        return [], files
    problems: list[Problem] = []
    safe: list[Any] = []
    for entry in files:
        path = entry.get("path") if isinstance(entry, dict) else None
        reason = unsafe_path(path) if isinstance(path, str) else None
        if reason:
            problems.append(Problem(path=path, problem=f"manifest path {reason}"))
        else:
            safe.append(entry)
    return problems, safe


def _check_files(
    entries: list[FileEntry], found: dict[str, Found], hashes: dict[str, Result]
) -> list[Problem]:
    problems = []
    for entry in entries:
        problem = _file_problem(entry, found, hashes)
        if problem:
            problems.append(Problem(path=entry.path, problem=problem))
    return problems


def _file_problem(
    entry: FileEntry, found: dict[str, Found], hashes: dict[str, Result]
) -> str | None:
    kind, size = found.get(entry.path) or (_behind_link(entry.path, found), 0)
    if kind in KIND_PROBLEMS:
        return KIND_PROBLEMS[kind]
    if size != entry.size:
        return f"size {size}, manifest says {entry.size}"
    result = hashes[entry.path]
    if isinstance(result, OSError):
        return f"cannot be read: {result}"
    if result[1] != entry.sha256:
        return "sha256 does not match the manifest"
    return None


def _behind_link(path: str, found: dict[str, Found]) -> str:
    parts = path.split("/")
    for depth in range(1, len(parts)):
        if found.get("/".join(parts[:depth]), ("", 0))[0] == "link":
            return "behind-link"
    return "missing"


def walk_content(content: Path) -> dict[str, Found]:
    """Everything under content/, without following links: relative path -> (kind, size)."""
    found: dict[str, Found] = {}
    pending = [("", str(content))]
    while pending:
        prefix, folder = pending.pop()
        try:
            entries = list(os.scandir(folder))
        except FileNotFoundError:
            continue
        for entry in entries:
            relative = prefix + entry.name
            if entry.is_symlink():
                found[relative] = ("link", 0)
            elif entry.is_dir(follow_symlinks=False):
                pending.append((relative + "/", entry.path))
            elif entry.is_file(follow_symlinks=False):
                found[relative] = ("file", entry.stat(follow_symlinks=False).st_size)
            else:
                found[relative] = ("other", 0)
    return found


def _extra_files(folder: Path, listed: set[str], found: dict[str, Found]) -> list[Problem]:
    problems = [
        Problem(path=item.name, problem="not part of a bundle")
        for item in sorted(folder.iterdir())
        if item.name not in (MANIFEST, SIGNATURE, CONTENT)
    ]
    problems += [
        Problem(path=path, problem="not in the manifest") for path in sorted(found.keys() - listed)
    ]
    return problems


def check_signature(
    path: Path, manifest: bytes, trusted: list[PublicKey], manifest_name: str
) -> tuple[str, list[Problem]]:
    """The state of the signature at `path` over `manifest`, and its problems."""
    if not trusted:
        state = "present" if path.exists() else "absent"
        return f"not checked (no trusted key given; signature {state})", []
    if not path.is_file():
        problem = "unsigned, but trusted keys were given"
        return "missing", [Problem(path=path.name, problem=problem)]
    parsed = read_signature(path.read_bytes())
    if parsed is None:
        return "unreadable", [Problem(path=path.name, problem="not an lpdeploy signature file")]
    fingerprint, signature = parsed
    key = next((k for k in trusted if k.fingerprint == fingerprint), None)
    if key is None:
        problem = f"signed by key {fingerprint}, which is not among the trusted keys"
        return "untrusted", [Problem(path=path.name, problem=problem)]
    if not key.verifies(signature, manifest):
        problem = f"does not match {manifest_name}: the manifest changed after it was signed"
        return "invalid", [Problem(path=path.name, problem=problem)]
    return f"valid: {key.name} ({fingerprint})", []
