"""The field kit's layout and its signed manifest, `kit.json`.

KIT/
  kit.json  kit.json.sig   every file below with its size and sha256; signed
  plan.json                the plan the kit deploys
  bundles/<id>-<version>/  each planned bundle, as in a catalog
  packages/packages-<key>.tar   the servers' offline Debian repository, one per architecture
  playbooks/               what Ansible runs
  wheels/                  lpdeploy and its dependencies for the engineer's laptop
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

MANIFEST = "kit.json"
SIGNATURE = "kit.json.sig"
PLAN = "plan.json"
BUNDLES = "bundles"
PACKAGES = "packages"
PLAYBOOKS = "playbooks"
WHEELS = "wheels"

USB_WRITE = {"USB 2": 25e6, "USB 3": 90e6}
"""Sustained write speed of common flash drives (bytes/s), for copy time estimates."""


class KitFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    path: str = Field(min_length=1)
    size: int = Field(ge=0)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


class KitPlan(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    sha256: str


class KitManifest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    schema_version: Literal[1] = 1
    plan: KitPlan
    packages_key: str = Field(pattern=r"^[0-9a-f]{16}$")
    """The repository of the first architecture (the only one, in kits older than `packages`)."""
    packages: dict[str, Annotated[str, Field(pattern=r"^[0-9a-f]{16}$")]] = {}
    """Each architecture's repository key."""
    files: list[KitFile]
    bytes: int = Field(ge=0)

    def repository_keys(self) -> dict[str, str]:
        """Per architecture, the key of its repository (a kit before arm64 was amd64 only)."""
        return dict(self.packages) or {"amd64": self.packages_key}


def copy_seconds(size: int) -> dict[str, float]:
    return {drive: round(size / speed, 1) for drive, speed in USB_WRITE.items()}
