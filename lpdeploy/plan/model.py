"""The deployment plan (CONTRACT.md): what goes to which centre, in which wave."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    model_serializer,
)

from lpdeploy.profile.hardware import Arch
from lpdeploy.secrets import SecretName, SecretSource

SCHEMA_VERSION: Literal[1] = 1
SKIPPED_LISTED = 25
WarningCode = Literal["coverage-gap", "storage-short", "wifi-capacity", "unreachable-language"]


class Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BundleRef(Frozen):
    id: str
    version: str
    size_bytes: int = Field(ge=0)


class SkippedBundle(BundleRef):
    reason: str


class PlanWarning(Frozen):
    code: WarningCode
    message: str
    centre: str | None = None
    language: str | None = None
    subject: str | None = None

    @model_serializer(mode="wrap")
    def _only_what_applies(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        return {key: value for key, value in data.items() if value is not None}


class PlanCentre(Frozen):
    id: str
    host: str | None
    wave: int = Field(ge=1)
    hardware: str
    arch: Arch = "amd64"
    """The server's architecture (its hardware model's); plans older than it are amd64."""
    storage_budget_bytes: int = Field(ge=0)
    services: list[str]
    bundles: list[BundleRef]
    bytes_total: int = Field(ge=0)
    learners: int = Field(gt=0)
    languages: list[str]
    timezone: str
    skipped: list[SkippedBundle] = []
    """The best-ranked bundles left out, at most SKIPPED_LISTED; all are counted below."""
    skipped_count: int = Field(default=0, ge=0)
    skipped_bytes: int = Field(default=0, ge=0)
    keep: list[BundleRef] = []
    """Previous versions of its bundles the server keeps for `rollback`, where they fit the
    budget beside `bytes_total`; left out of the file when none."""
    hub: str | None = None
    """The hub that runs Ansible for this centre; None (left out): the controller does."""

    @model_serializer(mode="wrap")
    def _keep_when_any(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        if not data.get("keep"):
            data.pop("keep", None)
        if data.get("hub") is None:
            data.pop("hub", None)
        return data


class PlanHub(Frozen):
    id: str
    host: str | None
    centres: int = Field(ge=1)
    bandwidth_kbps: int = Field(default=0, ge=0)
    cores: int = Field(default=4, ge=1)


class Transfer(Frozen):
    method: Literal["network", "field-kit"]
    bytes: int = Field(ge=0)
    seconds: float | None = None


class RouteEstimate(Frozen):
    via: str
    """A hub's id, or "controller" for the centres the engineer's machine reaches itself."""
    centres: int
    bytes: int
    seconds: float
    bottleneck: str


class RolloutEstimate(Frozen):
    """How long the rollout should take (lpdeploy/plan/capacity.py), and what bounds it."""

    seconds: float
    courier_seconds: float = 0.0
    bottleneck: str
    routes: list[RouteEstimate]


class Summary(Frozen):
    centres: int
    learners: int
    waves: int
    bundles_unique: int
    bytes_total: int
    bytes_unique: int
    transfer: Transfer
    warnings: dict[str, int]
    rollout: RolloutEstimate | None = None
    """None in plans made before the time budget."""

    @model_serializer(mode="wrap")
    def _rollout_when_known(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        if data.get("rollout") is None:
            data.pop("rollout", None)
        return data


class ProfileRef(Frozen):
    name: str
    sha256: str


class CatalogRef(Frozen):
    sha256: str


class PlanRegion(Frozen):
    country: str
    """ISO 3166-1 alpha-2, from the profile."""
    area: str = ""


class Plan(Frozen):
    schema_version: Literal[1] = SCHEMA_VERSION
    profile: ProfileRef
    region: PlanRegion | None = None
    """The profile's country and area (usage reports group by them); None in older plans."""
    catalog: CatalogRef
    summary: Summary
    warnings: list[PlanWarning]
    centres: list[PlanCentre]
    secrets: dict[SecretName, SecretSource] = {}
    """Where apply reads each secret (never a value); left out of the file when none."""
    hubs: list[PlanHub] = []
    """The profile's hubs, each with how many centres it serves; left out when none."""

    @model_serializer(mode="wrap")
    def _secrets_when_named(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        if data.get("region") is None:
            data.pop("region", None)
        if not data.get("hubs"):
            data.pop("hubs", None)
        if not data.get("secrets"):
            data.pop("secrets", None)
        else:
            data["secrets"] = {
                name: {k: v for k, v in source.items() if v is not None}
                for name, source in data["secrets"].items()
            }
        return data
