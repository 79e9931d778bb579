"""The crisis profile (CONTRACT.md) as pydantic models."""

from __future__ import annotations

import re
import zoneinfo
from functools import lru_cache
from typing import Annotated, Literal, get_args

import langcodes
import pycountry
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from lpdeploy.profile.hardware import BUILTIN_HARDWARE, HardwareModel
from lpdeploy.secrets import SecretName, SecretSource

SLUG_RE = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")
AgeBand = Literal[
    "early-childhood", "early-primary", "primary", "lower-secondary", "upper-secondary", "adult"
]
AGE_BANDS: tuple[str, ...] = get_args(AgeBand)
Connectivity = Literal["offline", "intermittent", "low-bandwidth", "online"]


def _check_language(tag: str) -> str:
    if not langcodes.tag_is_valid(tag):
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

    def hardware_table(self) -> dict[str, HardwareModel]:
        return {**BUILTIN_HARDWARE, **self.hardware_models}

    def centre_languages(self, centre: Centre) -> list[str]:
        return centre.languages if centre.languages is not None else self.languages

    def centre_hardware(self, centre: Centre) -> str:
        return centre.hardware or self.hardware
