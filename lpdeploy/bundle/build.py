"""Build a bundle from a source folder: `bundle.yaml` + `content/` -> `<id>-<version>/`."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from lpdeploy.bundle.content import ContentFile, scan_content
from lpdeploy.bundle.hashing import sha256_files
from lpdeploy.bundle.keys import load_private_key, sign
from lpdeploy.bundle.manifest import BundleManifest, BundleMeta, FileEntry
from lpdeploy.document import load_yaml, validate
from lpdeploy.errors import InputError, Issue
from lpdeploy.output import canonical_json

MANIFEST = "bundle.json"
SIGNATURE = "bundle.json.sig"
CONTENT = "content"


@dataclass(frozen=True)
class BuiltBundle:
    path: Path
    manifest: BundleManifest
    unchanged: bool

    @property
    def signed(self) -> bool:
        return (self.path / SIGNATURE).is_file()


def build_bundle(source: Path, out: Path, sign_key: Path | None = None) -> BuiltBundle:
    """Copy the content, hash the copies, write the manifest (and signature), then rename."""
    meta: BundleMeta = validate(BundleMeta, load_yaml(source / "bundle.yaml"))
    private = load_private_key(sign_key) if sign_key else None
    content = source / CONTENT
    if not content.is_dir():
        raise InputError.single(str(content), "missing: a bundle source needs a content/ folder")
    files, issues = scan_content(content)
    if not files and not issues:
        issues.append(Issue(str(content), None, "", "is empty: a bundle needs at least one file"))
    if issues:
        raise InputError(issues)
    out.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(dir=out, prefix=f".{meta.id}-"))
    try:
        manifest = _stage(stage, meta, files)
        wrong = manifest.inconsistencies()
        if wrong:
            raise InputError([Issue(str(content), None, "", problem) for problem in wrong])
        data = canonical_json(manifest)
        (stage / MANIFEST).write_bytes(data)
        if private is not None:
            (stage / SIGNATURE).write_bytes(sign(private, data))
        final = out / manifest.name
        unchanged = _same_as_existing(final, data, stage)
        if not unchanged:
            stage.rename(final)
        return BuiltBundle(path=final, manifest=manifest, unchanged=unchanged)
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def _stage(stage: Path, meta: BundleMeta, files: list[ContentFile]) -> BundleManifest:
    targets = []
    for item in files:
        target = stage / CONTENT / item.relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(item.source, target)
        targets.append(target)
    entries = []
    for item, result in zip(files, sha256_files(targets), strict=True):
        if isinstance(result, OSError):
            raise InputError.single(str(item.source), f"cannot be read: {result}")
        entries.append(FileEntry(path=item.relative, size=result[0], sha256=result[1]))
    return BundleManifest(
        **meta.model_dump(),
        schema_version=1,
        size_bytes=sum(e.size for e in entries),
        files=entries,
    )


def _same_as_existing(final: Path, data: bytes, stage: Path) -> bool:
    """A version is immutable: rebuilding it must give the same manifest."""
    if not final.exists():
        return False
    existing = final / MANIFEST
    if existing.is_file() and existing.read_bytes() == data:
        signature = stage / SIGNATURE
        if signature.exists():
            shutil.copyfile(signature, final / SIGNATURE)
        return True
    raise InputError.single(
        str(final),
        "already exists with other content; a bundle version never changes: raise the version",
        field="version",
    )
