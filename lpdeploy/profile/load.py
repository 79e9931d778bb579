"""Load a crisis profile file: parse, validate, cross-check, all problems at once."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from lpdeploy.document import Document, format_loc, issues_from, load_yaml
from lpdeploy.errors import InputError, Issue
from lpdeploy.profile.hardware import BUILTIN_HARDWARE
from lpdeploy.profile.model import Profile, matching


@dataclass(frozen=True)
class LoadedProfile:
    profile: Profile
    path: str
    sha256: str


def load_profile(path: Path) -> LoadedProfile:
    """Read and validate a profile; raise InputError listing every problem with its line."""
    doc = load_yaml(path)
    issues = list(_cross_check(doc))
    profile = None
    try:
        profile = Profile.model_validate(doc.data)
    except ValidationError as exc:
        issues = issues_from(exc, doc, (), Profile) + issues
    if issues or profile is None:
        raise InputError(sorted(set(issues), key=lambda i: (i.line or 0, i.field, i.message)))
    sha256 = hashlib.sha256(doc.text.encode("utf-8")).hexdigest()
    return LoadedProfile(profile=profile, path=doc.path, sha256=sha256)


def _cross_check(doc: Document) -> Iterator[Issue]:
    """Checks that span fields; tolerant of malformed parts, which validation reports."""
    data = doc.data
    centres = data.get("centres")
    centres = centres if isinstance(centres, list) else []
    models = data.get("hardware_models")
    known = set(BUILTIN_HARDWARE) | (set(models) if isinstance(models, dict) else set())
    languages = data.get("languages")
    languages = {str(x) for x in languages} if isinstance(languages, list) else None

    def issue(loc: tuple[str | int, ...], message: str) -> Issue:
        return Issue(doc.path, doc.line_of(loc), format_loc(loc), message)

    default = data.get("hardware")
    if isinstance(default, str) and default not in known:
        yield issue(("hardware",), _unknown_hardware(default, known))
    seen: dict[str, int] = {}
    for index, centre in enumerate(centres):
        if not isinstance(centre, dict):
            continue
        yield from _check_centre(centre, index, seen, known, languages, issue)
    hubs = data.get("hubs")
    if isinstance(hubs, list):
        yield from _check_hubs(hubs, set(seen), issue)


def _check_hubs(hubs: list[Any], centres: set[str], issue: Any) -> Iterator[Issue]:
    """Each hub is named once, not as a centre, and serves some centres, none of them
    served by another hub."""
    ids = sorted(centres)
    first: dict[str, int] = {}
    served: dict[str, str] = {}
    for index, hub in enumerate(hubs):
        if not isinstance(hub, dict):
            continue
        hid = hub.get("id")
        if isinstance(hid, str):
            if hid in first:
                yield issue(
                    ("hubs", index, "id"), f"duplicate hub id '{hid}' (first at hubs[{first[hid]}])"
                )
            elif hid in centres:
                yield issue(("hubs", index, "id"), f"'{hid}' is a centre's id: a hub needs its own")
            first.setdefault(hid, index)
        patterns = hub.get("centres")
        if not isinstance(patterns, list):
            continue
        for pos, pattern in enumerate(patterns):
            if not isinstance(pattern, str):
                continue
            found = matching(ids, pattern)
            if not found:
                yield issue(
                    ("hubs", index, "centres", pos),
                    f"'{pattern}' names no centre of the profile (expected a centre id or a "
                    "pattern such as camp-4-*)",
                )
            for centre in found:
                other = served.setdefault(centre, str(hid))
                if other != str(hid):
                    yield issue(
                        ("hubs", index, "centres", pos),
                        f"centre '{centre}' is served by hub '{other}' already: a centre has "
                        "one hub",
                    )


def _check_centre(
    centre: dict[str, Any],
    index: int,
    seen: dict[str, int],
    known: set[str],
    languages: set[str] | None,
    issue: Any,
) -> Iterator[Issue]:
    cid = centre.get("id")
    if isinstance(cid, str):
        if cid in seen:
            yield issue(
                ("centres", index, "id"),
                f"duplicate centre id '{cid}' (first at centres[{seen[cid]}])",
            )
        seen.setdefault(cid, index)
    hardware = centre.get("hardware")
    if isinstance(hardware, str) and hardware not in known:
        yield issue(("centres", index, "hardware"), _unknown_hardware(hardware, known))
    own = centre.get("languages")
    if isinstance(own, list) and languages is not None:
        for pos, tag in enumerate(own):
            if str(tag) not in languages:
                listed = ", ".join(sorted(languages))
                yield issue(
                    ("centres", index, "languages", pos),
                    f"'{tag}' is not among the profile's languages ({listed})",
                )


def _unknown_hardware(name: str, known: set[str]) -> str:
    return (
        f"unknown hardware model '{name}'; expected one of {', '.join(sorted(known))} "
        "or a model defined under hardware_models"
    )
