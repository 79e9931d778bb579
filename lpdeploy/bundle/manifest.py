"""The bundle manifest, `bundle.json` (CONTRACT.md)."""

from __future__ import annotations

import re
from pathlib import PurePosixPath
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from lpdeploy.profile.model import AgeBand, LanguageTag, Slug

SCHEMA_VERSION = 1
BundleKind = Literal["zim", "html", "kolibri", "media"]
SHA256 = r"^[0-9a-f]{64}$"
VERSION = r"^[0-9A-Za-z][0-9A-Za-z.+_-]*$"


def _check_relative(path: str) -> str:
    pure = PurePosixPath(path)
    if not path or pure.is_absolute() or "\\" in path or path.startswith("~"):
        raise ValueError(f"'{path}' must be a relative path inside content/")
    if any(part in ("..", ".", "") for part in path.split("/")):
        raise ValueError(f"'{path}' must not contain '..', '.' or empty parts")
    return path


class FileEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    path: Annotated[str, AfterValidator(_check_relative)]
    size: int = Field(ge=0)
    sha256: str = Field(pattern=SHA256)


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


class BundleManifest(BundleMeta):
    """`bundle.json`: the metadata plus every file with its size and sha256."""

    schema_version: Literal[1]
    size_bytes: int = Field(ge=0)
    files: list[FileEntry]

    @model_validator(mode="after")
    def _files_consistent(self) -> BundleManifest:
        paths = [f.path for f in self.files]
        if paths != sorted(paths):
            raise ValueError("files must be sorted by path")
        if len(set(paths)) != len(paths):
            raise ValueError("files lists a path more than once")
        total = sum(f.size for f in self.files)
        if self.files and total != self.size_bytes:
            raise ValueError(f"size_bytes is {self.size_bytes} but the files add up to {total}")
        return self

    @property
    def name(self) -> str:
        """Folder name of the bundle: `<id>-<version>`."""
        return f"{self.id}-{self.version}"


def version_key(version: str) -> tuple[tuple[int, int | str], ...]:
    """Order versions naturally: 1.10 after 1.9, numbers before words."""
    parts = re.findall(r"\d+|[A-Za-z]+", version)
    return tuple((0, int(p)) if p.isdigit() else (1, p) for p in parts)
