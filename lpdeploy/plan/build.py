"""The planner: a pure function from a profile and a catalog to a deployment plan."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from lpdeploy.bundle.manifest import BundleManifest
from lpdeploy.catalog import Catalog
from lpdeploy.language import language_matches
from lpdeploy.plan.capacity import CentreLoad, estimate
from lpdeploy.plan.model import (
    SKIPPED_LISTED,
    BundleRef,
    CatalogRef,
    Plan,
    PlanCentre,
    PlanHub,
    PlanRegion,
    PlanWarning,
    ProfileRef,
    RolloutEstimate,
    RouteEstimate,
    SkippedBundle,
    Summary,
    Transfer,
)
from lpdeploy.profile import HardwareModel, LoadedProfile, Profile
from lpdeploy.profile.hardware import GB

CANARY_FRACTION = 0.05
BASE_SERVICES = ("portal",)


@dataclass(frozen=True)
class Fill:
    """What one kind of centre (same languages, same hardware) receives."""

    bundles: list[BundleRef]
    skipped: list[SkippedBundle]
    skipped_count: int
    skipped_bytes: int
    short: int
    """How many eligible bundles did not fit the storage."""
    services: list[str]
    bytes_total: int
    budget: int
    keep: list[BundleRef]


def build_plan(
    loaded: LoadedProfile, catalog: Catalog, hardware: dict[str, HardwareModel] | None = None
) -> Plan:
    """Choose, for every centre, the bundles that fit its server, best first, in waves."""
    profile = loaded.profile
    table = hardware if hardware is not None else profile.hardware_table()
    latest = catalog.latest()
    for_ages = [b for b in latest if _age_fits(profile, b)]
    fills: dict[tuple[tuple[str, ...], str], Fill] = {}
    waves = _waves(len(profile.centres), profile.wave_size)
    hub_of = profile.hub_of()
    centres = []
    warnings = [*_language_warnings(profile, latest, for_ages)]
    for centre, wave in zip(profile.centres, waves, strict=True):
        languages = tuple(profile.centre_languages(centre))
        model_name = profile.centre_hardware(centre)
        key = (languages, model_name)
        if key not in fills:
            fills[key] = _fill(profile, languages, table[model_name], for_ages, catalog)
        fill = fills[key]
        centres.append(
            PlanCentre(
                id=centre.id,
                host=centre.host,
                wave=wave,
                hardware=model_name,
                arch=table[model_name].arch,
                storage_budget_bytes=fill.budget,
                services=fill.services,
                bundles=fill.bundles,
                bytes_total=fill.bytes_total,
                learners=centre.learners,
                languages=list(languages),
                timezone=profile.region.timezone,
                skipped=fill.skipped,
                skipped_count=fill.skipped_count,
                skipped_bytes=fill.skipped_bytes,
                keep=fill.keep,
                hub=hub_of.get(centre.id),
            )
        )
        warnings.extend(_centre_warnings(profile, centres[-1], table[model_name], fill))
    served = Counter(hub_of.values())
    return Plan(
        profile=ProfileRef(name=profile.name, sha256=loaded.sha256),
        region=PlanRegion(country=profile.region.country, area=profile.region.area),
        catalog=CatalogRef(sha256=catalog.sha256),
        summary=_summary(profile, centres, warnings, waves),
        warnings=warnings,
        centres=centres,
        secrets=dict(profile.secrets),
        hubs=[
            PlanHub(
                id=h.id,
                host=h.host,
                centres=served[h.id],
                bandwidth_kbps=h.bandwidth_kbps,
                cores=h.cores,
            )
            for h in profile.hubs
        ],
    )


def _age_fits(profile: Profile, bundle: BundleManifest) -> bool:
    if not profile.age_bands or not bundle.age_bands:
        return True
    return bool(set(profile.age_bands) & set(bundle.age_bands))


def _language_rank(languages: Sequence[str], bundle: BundleManifest) -> int | None:
    ranks = [
        index
        for index, wanted in enumerate(languages)
        if any(language_matches(wanted, offered) for offered in bundle.languages)
    ]
    return min(ranks) if ranks else None


def _subject_rank(subjects: Sequence[str], bundle: BundleManifest) -> int:
    offered = {s.lower() for s in bundle.subjects}
    ranks = [index for index, subject in enumerate(subjects) if subject.lower() in offered]
    return min(ranks) if ranks else len(subjects)


def _fill(
    profile: Profile,
    languages: tuple[str, ...],
    model: HardwareModel,
    bundles: list[BundleManifest],
    catalog: Catalog,
) -> Fill:
    """Rank the eligible bundles and take them in order while they fit the budget; then,
    in the same order, the previous version of each where what is left still holds it."""
    ranked = []
    skipped = []
    for bundle in bundles:
        rank = _language_rank(languages, bundle)
        if rank is None:
            continue
        missing = [s for s in bundle.services if not model.can_run(s)]
        if missing:
            skipped.append(
                _skip(bundle, f"needs {', '.join(missing)}, which this hardware cannot run")
            )
            continue
        key = (rank, _subject_rank(profile.subjects, bundle), bundle.size_bytes, bundle.id)
        ranked.append((key, bundle))
    ranked.sort(key=lambda pair: pair[0])
    budget = model.storage_budget_bytes()
    left = budget
    chosen = []
    services = set(BASE_SERVICES)
    for _, bundle in ranked:
        if footprint(bundle) <= left:
            chosen.append(bundle)
            services.update(bundle.services)
            left -= footprint(bundle)
        else:
            skipped.append(_skip(bundle, f"does not fit: {_gb(left)} left of the budget"))
    used = budget - left
    keep = []
    for bundle in chosen:
        older = catalog.previous(bundle)
        # Kolibri keeps one version of a channel in its own database: no switching back.
        if older is not None and older.kind != "kolibri" and older.size_bytes <= left:
            keep.append(_ref(older))
            left -= older.size_bytes
    return Fill(
        bundles=[_ref(b) for b in chosen],
        skipped=skipped[:SKIPPED_LISTED],
        skipped_count=len(skipped),
        skipped_bytes=sum(s.size_bytes for s in skipped),
        short=sum(1 for s in skipped if s.reason.startswith("does not fit")),
        services=sorted(services),
        bytes_total=used,
        budget=budget,
        keep=keep,
    )


def _ref(bundle: BundleManifest) -> BundleRef:
    return BundleRef(id=bundle.id, version=bundle.version, size_bytes=bundle.size_bytes)


def footprint(bundle: BundleManifest) -> int:
    """Bytes a bundle takes on a server. A Kolibri channel is there twice: the signed bundle
    (verified, resumable) and the copy Kolibri's own import makes of it."""
    return bundle.size_bytes * (2 if bundle.kind == "kolibri" else 1)


def _skip(bundle: BundleManifest, reason: str) -> SkippedBundle:
    return SkippedBundle(
        id=bundle.id, version=bundle.version, size_bytes=bundle.size_bytes, reason=reason
    )


def _waves(count: int, wave_size: int) -> list[int]:
    """Wave 1 is the canary (one centre or 5%, whichever is larger); then waves of wave_size."""
    canary = min(count, max(1, math.ceil(count * CANARY_FRACTION)))
    return [1] * canary + [2 + i // wave_size for i in range(count - canary)]


def _language_warnings(
    profile: Profile, latest: list[BundleManifest], for_ages: list[BundleManifest]
) -> Iterable[PlanWarning]:
    for language in profile.languages:
        if not any(_language_rank([language], b) is not None for b in latest):
            yield PlanWarning(
                code="unreachable-language",
                language=language,
                message=f"no bundle in the catalog is in '{language}'",
            )
            continue
        own = [b for b in for_ages if _language_rank([language], b) is not None]
        for subject in profile.subjects:
            if not any(_subject_rank([subject], b) == 0 for b in own):
                yield PlanWarning(
                    code="coverage-gap",
                    language=language,
                    subject=subject,
                    message=(
                        f"no bundle covers {subject} in '{language}' for the profile's age bands"
                    ),
                )


def _centre_warnings(
    profile: Profile, centre: PlanCentre, model: HardwareModel, fill: Fill
) -> Iterable[PlanWarning]:
    if fill.short:
        yield PlanWarning(
            code="storage-short",
            centre=centre.id,
            message=(
                f"{fill.short} eligible bundles do not fit the "
                f"{_gb(fill.budget)} budget of {centre.hardware}"
            ),
        )
    per_shift = math.ceil(centre.learners / profile.shifts)
    if per_shift > model.wifi_clients:
        points = math.ceil(per_shift / model.wifi_clients) if model.wifi_clients else None
        need = f"{points} access points" if points else "external access points"
        yield PlanWarning(
            code="wifi-capacity",
            centre=centre.id,
            message=(
                f"{per_shift} learners per shift, but {centre.hardware} serves "
                f"{model.wifi_clients} Wi-Fi clients: needs {need}"
            ),
        )


def _summary(
    profile: Profile, centres: list[PlanCentre], warnings: list[PlanWarning], waves: list[int]
) -> Summary:
    unique = {(b.id, b.version): b.size_bytes for c in centres for b in c.bundles}
    total = sum(c.bytes_total for c in centres)
    carried = sum(b.size_bytes for c in centres for b in c.bundles)
    offline = profile.connectivity == "offline"
    seconds = None
    if not offline and profile.bandwidth_kbps > 0:
        seconds = round(carried * 8 / (profile.bandwidth_kbps * 1000), 1)
    return Summary(
        centres=len(centres),
        learners=sum(c.learners for c in centres),
        waves=max(waves),
        bundles_unique=len(unique),
        bytes_total=total,
        bytes_unique=sum(unique.values()),
        transfer=Transfer(
            method="field-kit" if offline else "network", bytes=carried, seconds=seconds
        ),
        warnings=dict(sorted(Counter(w.code for w in warnings).items())),
        rollout=_rollout(profile, centres),
    )


def _rollout(profile: Profile, centres: list[PlanCentre]) -> RolloutEstimate:
    loads = [
        CentreLoad(
            id=c.id,
            wave=c.wave,
            hub=c.hub,
            bytes=c.bytes_total,
            bundles=frozenset((b.id, b.version, b.size_bytes) for b in c.bundles),
        )
        for c in centres
    ]
    found = estimate(profile, loads)
    return RolloutEstimate(
        seconds=found.seconds,
        courier_seconds=found.courier_seconds,
        bottleneck=found.bottleneck,
        routes=[RouteEstimate(**vars(r)) for r in found.routes],
    )


def _gb(size: int) -> str:
    return f"{size / GB:.1f} GB"
