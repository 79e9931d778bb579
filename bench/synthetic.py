"""Synthetic catalogs and profiles for benchmarks. Never shipped as content."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

LANGUAGES = [
    "rhg", "my", "en", "ar", "fr", "uk", "ru", "es", "pt", "sw", "so", "am", "ti", "ha", "ff",
    "ps", "fa", "ur", "bn", "hi", "tr", "ku", "ckb", "prs", "tet", "id", "ne", "si", "ta",
    "th", "vi", "km", "lo", "zh", "ln", "rw", "rn", "lg", "yo", "ig",
]  # fmt: skip
SUBJECTS = ["literacy", "numeracy", "wellbeing", "science", "life-skills", "languages", "arts"]
AGE_BANDS = ["early-childhood", "early-primary", "primary", "lower-secondary", "upper-secondary"]
MB = 10**6


def _size(rng: random.Random) -> int:
    roll = rng.random()
    if roll < 0.80:
        return rng.randint(5, 200) * MB
    if roll < 0.95:
        return rng.randint(200, 2000) * MB
    return rng.randint(2000, 40000) * MB


def catalog_index(bundles: int, languages: int = 40, seed: int = 1) -> dict[str, Any]:
    """A catalog.json document of `bundles` manifests over `languages` languages."""
    rng = random.Random(seed)
    langs = LANGUAGES[:languages]
    manifests = []
    for index in range(bundles):
        kind = rng.choice(["html", "html", "zim", "media"])
        manifests.append(
            {
                "schema_version": 1,
                "id": f"course-{index:05d}",
                "version": f"1.{rng.randint(0, 9)}.0",
                "title": f"Course {index}",
                "kind": kind,
                "languages": rng.sample(langs, rng.choice([1, 1, 1, 2])),
                "subjects": rng.sample(SUBJECTS, rng.choice([1, 1, 2])),
                "age_bands": sorted(rng.sample(AGE_BANDS, rng.randint(1, 3))),
                "licence": "CC-BY-4.0",
                "services": ["kiwix"] if kind == "zim" else ["portal"],
                "size_bytes": _size(rng),
                "files": [],
            }
        )
    return {"schema_version": 1, "bundles": manifests}


def profile_yaml(centres: int, seed: int = 1) -> str:
    """A Cox's Bazar-like profile with `centres` centres of 100-400 learners."""
    rng = random.Random(seed)
    lines = [
        "name: synthetic",
        "region: {country: BD, timezone: Asia/Dhaka}",
        "languages: [rhg, my, en]",
        "connectivity: offline",
        "age_bands: [early-primary, primary, lower-secondary]",
        "subjects: [literacy, numeracy, wellbeing, science]",
        "shifts: 3",
        "centres:",
    ]
    hardware = ["rpi4-128g", "rpi4-128g", "rpi4-64g", "nuc-512g"]
    subsets = ["[rhg, my, en]", "[rhg, en]", "[my, en]"]
    for index in range(centres):
        lines.append(f"  - id: lc-{index:06d}")
        lines.append(f"    learners: {rng.randint(100, 400)}")
        lines.append(f"    hardware: {rng.choice(hardware)}")
        lines.append(f"    languages: {rng.choice(subsets)}")
    return "\n".join(lines) + "\n"


def write_inputs(folder: Path, bundles: int, centres: int) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    catalog = folder / "catalog.json"
    catalog.write_text(json.dumps(catalog_index(bundles)))
    profile = folder / f"profile-{centres}.yaml"
    profile.write_text(profile_yaml(centres))
    return profile, catalog
