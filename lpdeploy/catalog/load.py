"""Read a catalog: a folder of bundles (any depth) or a `catalog.json` index."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict

from lpdeploy.bundle.manifest import BundleManifest, version_key
from lpdeploy.document import load_json, validate
from lpdeploy.errors import InputError
from lpdeploy.language import language_matches
from lpdeploy.output import canonical_json, write_atomic

INDEX_NAME = "catalog.json"
MANIFEST_NAME = "bundle.json"


class CatalogIndex(BaseModel):
    model_config = ConfigDict(extra="forbid")

    schema_version: Literal[1]
    bundles: list[BundleManifest]


@dataclass(frozen=True)
class Catalog:
    """The manifests of a catalog, with where they came from and a digest of them."""

    root: Path
    bundles: tuple[BundleManifest, ...]
    sha256: str
    folders: dict[tuple[str, str], Path]
    """(id, version) -> bundle folder, for catalogs scanned from a folder tree."""

    def latest(self) -> list[BundleManifest]:
        """The newest version of every bundle id, sorted by id."""
        newest: dict[str, BundleManifest] = {}
        for bundle in self.bundles:
            held = newest.get(bundle.id)
            if held is None or version_key(bundle.version) > version_key(held.version):
                newest[bundle.id] = bundle
        return [newest[key] for key in sorted(newest)]

    def previous(self, bundle: BundleManifest) -> BundleManifest | None:
        """The newest version of `bundle`'s id older than it, if the catalog has one."""
        older = [
            b
            for b in self.bundles
            if b.id == bundle.id and version_key(b.version) < version_key(bundle.version)
        ]
        return max(older, key=lambda b: version_key(b.version), default=None)


def load_catalog(root: Path) -> Catalog:
    """Load every manifest under `root`, or the index when `root` is (or holds) catalog.json."""
    index = root if root.is_file() else root / INDEX_NAME
    if index.is_file():
        return _load_index(index)
    if not root.is_dir():
        raise InputError.single(str(root), "catalog not found: expected a folder or catalog.json")
    return _scan(root)


def _load_index(path: Path) -> Catalog:
    doc = load_json(path)
    index: CatalogIndex = validate(CatalogIndex, doc)
    digest = hashlib.sha256(doc.text.encode("utf-8")).hexdigest()
    _refuse_duplicates(index.bundles, str(path))
    bundles = tuple(sorted(index.bundles, key=lambda b: (b.id, version_key(b.version))))
    return Catalog(root=path.parent, bundles=bundles, sha256=digest, folders={})


def write_index(root: Path) -> Path:
    """Scan the bundles under `root` and write their manifests to `root/catalog.json`."""
    if not root.is_dir():
        raise InputError.single(str(root), "not a folder")
    catalog = _scan(root)
    index = {"schema_version": 1, "bundles": [b.model_dump(mode="json") for b in catalog.bundles]}
    path = root / INDEX_NAME
    write_atomic(path, canonical_json(index))
    return path


def _scan(root: Path) -> Catalog:
    bundles: list[BundleManifest] = []
    folders: dict[tuple[str, str], Path] = {}
    digest = hashlib.sha256()
    issues = []
    for manifest_path in sorted(root.rglob(MANIFEST_NAME)):
        try:
            doc = load_json(manifest_path)
            manifest: BundleManifest = validate(BundleManifest, doc)
        except InputError as exc:
            issues.extend(exc.issues)
            continue
        key = (manifest.id, manifest.version)
        if key in folders:
            raise InputError.single(
                str(manifest_path),
                f"bundle {manifest.name} is also at {folders[key]}",
                field="id",
            )
        folders[key] = manifest_path.parent
        bundles.append(manifest)
        relative = manifest_path.relative_to(root).as_posix()
        digest.update(f"{relative}\0{hashlib.sha256(doc.text.encode()).hexdigest()}\n".encode())
    if issues:
        raise InputError(issues)
    bundles.sort(key=lambda b: (b.id, version_key(b.version)))
    return Catalog(root=root, bundles=tuple(bundles), sha256=digest.hexdigest(), folders=folders)


def _refuse_duplicates(bundles: list[BundleManifest], path: str) -> None:
    seen: dict[tuple[str, str], int] = {}
    for index, bundle in enumerate(bundles):
        key = (bundle.id, bundle.version)
        if key in seen:
            raise InputError.single(
                path,
                f"bundle {bundle.name} listed twice (also bundles[{seen[key]}])",
                field=f"bundles[{index}].id",
            )
        seen[key] = index


def matches(bundle: BundleManifest, language: str | None, subject: str | None) -> bool:
    """Filter for `catalog list`: a language close enough, a subject exactly (any case)."""
    if language and not any(language_matches(language, have) for have in bundle.languages):
        return False
    return not (subject and subject.lower() not in {s.lower() for s in bundle.subjects})
