"""What leaves a centre about learning: aggregate rows per day, never a person.

A usage file is one centre's collection: who it is (its id, country, region, languages,
and the languages and subjects of its bundles, so that reports can group without the
plan), when it was collected, and its rows. A row counts one day of one source (`web`:
nginx's requests to the portal, html and ZIM content; `kolibri`: Kolibri's own logs) for
one bundle, and for Kolibri one resource. There is no field for a name, an account, an
address or a browser, and none can be added: the models refuse unknown keys.
"""

from __future__ import annotations

import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Source = Literal["web", "kolibri"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Row(Strict):
    day: datetime.date
    source: Source
    bundle: str = Field(min_length=1, max_length=200)
    """A bundle id, `portal` (the portal's own pages) or `kolibri` (Kolibri's pages)."""
    resource: str = Field(default="", max_length=64)
    """A Kolibri resource (its content id); empty for web rows."""
    requests: int = Field(default=0, ge=0)
    devices: int = Field(default=0, ge=0)
    """Distinct devices that day (counted on the server from salted hashes it keeps)."""
    learners: int = Field(default=0, ge=0)
    started: int = Field(default=0, ge=0)
    completed: int = Field(default=0, ge=0)
    seconds: int = Field(default=0, ge=0)


class BundleInfo(Strict):
    languages: list[str] = []
    subjects: list[str] = []


class Context(Strict):
    country: str = ""
    region: str = ""
    languages: list[str] = []
    bundles: dict[str, BundleInfo] = {}


class UsageFile(Strict):
    schema_version: Literal[1] = 1
    kind: Literal["lpdeploy-usage"] = "lpdeploy-usage"
    centre: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    collected_at: float
    context: Context
    rows: list[Row]


class ExportFile(Strict):
    path: str
    size: int = Field(ge=0)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


class ExportManifest(Strict):
    schema_version: Literal[1] = 1
    kind: Literal["lpdeploy-usage-export"] = "lpdeploy-usage-export"
    files: list[ExportFile]
