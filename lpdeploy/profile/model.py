"""The crisis profile (CONTRACT.md) as pydantic models."""

from __future__ import annotations

import fnmatch
import re
import zoneinfo
from functools import lru_cache
from typing import Annotated, Literal, get_args

import pycountry
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from lpdeploy.language import language_valid
from lpdeploy.profile.hardware import BUILTIN_HARDWARE, HardwareModel
from lpdeploy.secrets import SecretName, SecretSource

SLUG_RE = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")
AgeBand = Literal[
    "early-childhood", "early-primary", "primary", "lower-secondary", "upper-secondary", "adult"
]
AGE_BANDS: tuple[str, ...] = get_args(AgeBand)
Connectivity = Literal["offline", "intermittent", "low-bandwidth", "online"]


def _check_language(tag: str) -> str:
    if not language_valid(tag):
        raise ValueError(f"'{tag}' is not a valid BCP 47 language tag (e.g. en, rhg, pt-BR)")
    return tag


def _check_country(code: str) -> str:
    if len(code) != 2 or pycountry.countries.get(alpha_2=code.upper()) is None:
        raise ValueError(f"'{code}' is not an ISO 3166-1 alpha-2 country code (e.g. BD, TD, UA)")
    return code.upper()


@lru_cache(maxsize=1)
def _time_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def _check_timezone(name: str) -> str:
    if name not in _time_zones():
        raise ValueError(f"'{name}' is not an IANA time zone (e.g. Asia/Dhaka, Africa/Ndjamena)")
    return name


LanguageTag = Annotated[str, AfterValidator(_check_language)]


def _check_slug(value: str) -> str:
    if not SLUG_RE.fullmatch(value) or len(value) > 63:
        raise ValueError(
            f"'{value}' is not a slug: expected lowercase a-z, 0-9 and single '-' between "
            "them, at most 63 characters (e.g. camp-4-lc-01)"
        )
    return value


Slug = Annotated[str, AfterValidator(_check_slug)]


def _unique(values: list[str]) -> list[str]:
    seen = [v for i, v in enumerate(values) if v in values[:i]]
    if seen:
        raise ValueError(f"listed more than once: {', '.join(sorted(set(seen)))}")
    return values


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Region(Strict):
    country: Annotated[str, AfterValidator(_check_country)]
    area: str = ""
    timezone: Annotated[str, AfterValidator(_check_timezone)] = "UTC"


class Centre(Strict):
    id: Slug
    learners: int = Field(gt=0)
    host: str | None = Field(default=None, min_length=1)
    hardware: str | None = None
    languages: Annotated[list[LanguageTag], AfterValidator(_unique)] | None = None


class Hub(Strict):
    """A regional hub: a server near its centres that runs Ansible for them (the relay)."""

    id: Slug
    host: str | None = Field(default=None, min_length=1)
    centres: Annotated[list[str], Field(min_length=1), AfterValidator(_unique)]
    """Centre ids, or shell-style patterns of them (`camp-4-*`), that this hub serves."""
    bandwidth_kbps: int = Field(default=0, ge=0)
    """The link from the engineer's machine to the hub (0: the profile's bandwidth_kbps)."""
    cores: int = Field(default=4, ge=1, description="CPU cores of the hub (a Pi 4 or 5: 4)")


class Profile(Strict):
    """A crisis profile: where, which languages, how connected, which centres."""

    name: Slug
    region: Region
    languages: Annotated[list[LanguageTag], Field(min_length=1), AfterValidator(_unique)]
    connectivity: Connectivity
    bandwidth_kbps: int = Field(default=0, ge=0)
    age_bands: Annotated[list[AgeBand], AfterValidator(_unique)] = []
    subjects: Annotated[list[str], AfterValidator(_unique)] = []
    shifts: int = Field(default=1, ge=1, le=6, description="teaching shifts a day per centre")
    wave_size: int = Field(default=20, ge=1, description="centres per wave after the canary")
    hardware: str = "rpi4-128g"
    hardware_models: dict[Slug, HardwareModel] = {}
    centres: Annotated[list[Centre], Field(min_length=1)]
    secrets: dict[SecretName, SecretSource] = Field(
        default={}, description="where the Wi-Fi passphrase and admin password are read from"
    )
    hubs: list[Hub] = Field(
        default=[], description="regional hubs; a centre no hub serves is reached directly"
    )
    courier_hours: float = Field(
        default=0, ge=0, description="hours for a field kit to reach the centres by hand"
    )

    def hardware_table(self) -> dict[str, HardwareModel]:
        return {**BUILTIN_HARDWARE, **self.hardware_models}

    def centre_languages(self, centre: Centre) -> list[str]:
        return centre.languages if centre.languages is not None else self.languages

    def centre_hardware(self, centre: Centre) -> str:
        return centre.hardware or self.hardware

    def hub_of(self) -> dict[str, str]:
        """The hub serving each centre that one serves (load_profile checks there is at
        most one, and that each hub's patterns match some centre)."""
        served: dict[str, str] = {}
        ids = [c.id for c in self.centres]
        for hub in self.hubs:
            for pattern in hub.centres:
                for centre in matching(ids, pattern):
                    served.setdefault(centre, hub.id)
        return served


def matching(ids: list[str], pattern: str) -> list[str]:
    """The ids a hub's `centres` entry names: itself, or those its shell pattern matches."""
    if not any(c in pattern for c in "*?["):
        return [pattern] if pattern in ids else []
    return fnmatch.filter(ids, pattern)
