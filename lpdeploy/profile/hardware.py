"""Server models and the storage budget a server offers to course bundles.

Storage is counted as sold: 1 GB = 10**9 bytes. A server's budget for bundles is its
storage minus the OS and services reserve, minus a headroom margin kept free for logs,
updates and the learners' own files.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

GB = 10**9
HEADROOM_FRACTION = 0.10
"""Share of the storage always kept free."""

Arch = Literal["amd64", "arm64"]
"""Debian's names for the architectures a server may have (the package repository's)."""

SERVICE_MIN_RAM_GB = {"portal": 0.5, "kiwix": 1.0, "kolibri": 2.0, "media": 0.5}
"""Least RAM a server needs to run each service; unknown services need none."""


class HardwareModel(BaseModel):
    """A server model: what it stores, its memory, and how many Wi-Fi clients it serves."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    storage_gb: float = Field(gt=0, description="storage as sold, in GB (10**9 bytes)")
    ram_gb: float = Field(gt=0, description="memory in GB")
    wifi_clients: int = Field(ge=0, description="concurrent Wi-Fi clients its own radio serves")
    reserve_gb: float = Field(
        default=8.0, ge=0, description="kept for the OS, packages and services (GB)"
    )
    arch: Arch = Field(
        default="amd64", description="processor architecture, as Debian names it (amd64, arm64)"
    )

    def storage_budget_bytes(self) -> int:
        """Bytes available to bundles: storage - reserve - headroom, never below zero."""
        budget = self.storage_gb * (1 - HEADROOM_FRACTION) - self.reserve_gb
        return max(0, int(budget * GB))

    def can_run(self, service: str) -> bool:
        return self.ram_gb >= SERVICE_MIN_RAM_GB.get(service, 0.0)


BUILTIN_HARDWARE: dict[str, HardwareModel] = {
    "rpi4-64g": HardwareModel(storage_gb=64, ram_gb=4, wifi_clients=20, reserve_gb=6, arch="arm64"),
    "rpi4-128g": HardwareModel(
        storage_gb=128, ram_gb=4, wifi_clients=20, reserve_gb=6, arch="arm64"
    ),
    "rpi5-256g": HardwareModel(
        storage_gb=256, ram_gb=8, wifi_clients=25, reserve_gb=6, arch="arm64"
    ),
    "nuc-512g": HardwareModel(storage_gb=512, ram_gb=8, wifi_clients=40),
    "nuc-1t": HardwareModel(storage_gb=1000, ram_gb=16, wifi_clients=40),
    "laptop-256g": HardwareModel(storage_gb=256, ram_gb=8, wifi_clients=30),
}
