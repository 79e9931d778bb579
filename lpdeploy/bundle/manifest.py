"""The bundle manifest, `bundle.json` (CONTRACT.md)."""

from __future__ import annotations

import hashlib
import json
import re
from functools import cached_property
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    model_serializer,
    model_validator,
)

from lpdeploy.profile.model import AgeBand, LanguageTag, Slug

SCHEMA_VERSION = 1
BundleKind = Literal["zim", "html", "kolibri", "media"]
SHA256 = r"^[0-9a-f]{64}$"
VERSION = r"^[0-9A-Za-z][0-9A-Za-z.+_-]*$"


_NOT_RELATIVE = re.compile(r"[/~]|$")
_CONTROL = re.compile(r"[\x00-\x1f\\]")
_DOT_PARTS = re.compile(r"(?:^|/)\.{0,2}(?:/|$)")


def unsafe_path(path: str) -> str | None:
    """Why a manifest path could reach outside content/, or None when it is safe."""
    if _NOT_RELATIVE.match(path):
        return "is not a relative path inside content/"
    if _CONTROL.search(path):
        return "has a backslash or a control character"
    if _DOT_PARTS.search(path):
        return "has a '..', '.' or empty part"
    return None


def _check_relative(path: str) -> str:
    reason = unsafe_path(path)
    if reason:
        raise ValueError(f"'{path}' {reason}")
    return path


class FileEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    path: Annotated[str, AfterValidator(_check_relative)]
    size: int = Field(ge=0)
    sha256: str = Field(pattern=SHA256)


class KolibriChannel(BaseModel):
    """Which Kolibri channel a `kolibri` bundle holds, in Kolibri's drive layout."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    channel_id: str = Field(pattern=r"^[0-9a-f]{32}$")
    channel_version: int = Field(ge=0)

    @property
    def database(self) -> str:
        """The channel database's path, relative to content/."""
        return f"databases/{self.channel_id}.sqlite3"


class BundleMeta(BaseModel):
    """What a publisher says of a bundle (the `bundle.yaml` of a bundle source)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Slug
    version: str = Field(pattern=VERSION, max_length=64)
    title: str = Field(min_length=1)
    kind: BundleKind
    languages: Annotated[list[LanguageTag], Field(min_length=1)]
    subjects: list[str] = []
    age_bands: list[AgeBand] = []
    licence: str = Field(min_length=1)
    services: list[str] = []
    kolibri: KolibriChannel | None = None
    """The channel of a `kolibri` bundle (required there, refused elsewhere)."""

    @model_validator(mode="after")
    def _channel_for_kolibri(self) -> BundleMeta:
        if self.kind == "kolibri" and self.kolibri is None:
            raise ValueError("a kolibri bundle needs kolibri: {channel_id, channel_version}")
        if self.kind != "kolibri" and self.kolibri is not None:
            raise ValueError(f"kolibri: is only for kolibri bundles, not {self.kind}")
        return self

    @model_serializer(mode="wrap")
    def _without_empty_channel(self, handler: SerializerFunctionWrapHandler) -> dict[str, object]:
        data: dict[str, object] = handler(self)
        if data.get("kolibri") is None:
            data.pop("kolibri", None)
        return data


class BundleManifest(BundleMeta):
    """`bundle.json`: the metadata plus every file with its size and sha256."""

    schema_version: Literal[1]
    size_bytes: int = Field(ge=0)
    files: list[FileEntry]

    def inconsistencies(self) -> list[str]:
        """What is wrong between the file list and the totals (empty when all agrees)."""
        found = []
        paths = [f.path for f in self.files]
        if paths != sorted(paths):
            found.append("files are not sorted by path")
        if len(set(paths)) != len(paths):
            found.append("files lists a path more than once")
        total = sum(f.size for f in self.files)
        if total != self.size_bytes:
            found.append(f"size_bytes is {self.size_bytes} but the files add up to {total}")
        if self.kolibri is not None and self.kolibri.database not in paths:
            found.append(
                f"a kolibri bundle holds its channel database at content/{self.kolibri.database}"
                " (Kolibri's drive layout), and this one does not"
            )
        return found

    @property
    def name(self) -> str:
        """Folder name of the bundle: `<id>-<version>`."""
        return f"{self.id}-{self.version}"

    @cached_property
    def files_sha256(self) -> str:
        """sha256 of the file list, each [path, size, sha256] in its order, as compact JSON:
        what a server's bundle helper compares with the bundle.json in its staging before
        it counts a staged bundle as there (playbooks/roles/bundle_loader/files/lpdeploy-bundle,
        `files_digest`, computes the same). Kept: each centre's inventory asks for it, and
        a list of 20,000 files takes 19 ms."""
        listed = [[f.path, f.size, f.sha256] for f in self.files]
        return hashlib.sha256(json.dumps(listed, separators=(",", ":")).encode()).hexdigest()


def version_key(version: str) -> tuple[tuple[int, int | str], ...]:
    """Order versions naturally: 1.10 after 1.9, numbers before words."""
    parts = re.findall(r"\d+|[A-Za-z]+", version)
    return tuple((0, int(p)) if p.isdigit() else (1, p) for p in parts)
