"""Render the inventory of a plan: pure, sorted, no I/O."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import yaml

from lpdeploy import kolibri
from lpdeploy.bundle.manifest import BundleManifest
from lpdeploy.errors import InputError
from lpdeploy.inventory.portal_text import portal_text
from lpdeploy.language import language_autonym, language_name
from lpdeploy.output import canonical_json
from lpdeploy.plan.model import Plan, PlanCentre, PlanRegion

GROUP = "lpdeploy_centres"
LOCATIONS = ("lpdeploy_repo_archive",)
"""Variables naming where a file is on the controller: not part of a desired state."""
ENTRY_PAGES = ("index.html", "index.htm")
USAGE_LOG = "/var/log/lpdeploy/usage.log"
KOLIBRI_DB = "/srv/lpdeploy/kolibri/db.sqlite3"


def centre_vars(
    centre: PlanCentre,
    manifests: dict[tuple[str, str], BundleManifest],
    sources: dict[tuple[str, str], Path],
    region: PlanRegion | None = None,
) -> dict[str, Any]:
    """What the roles need to know about one centre (`region`: the plan's)."""
    bundles = []
    zims = []
    channels = []
    for ref in centre.bundles:
        manifest = manifests[(ref.id, ref.version)]
        if manifest.kolibri is not None:
            channels.append(
                {
                    "bundle": ref.id,
                    "channel_id": manifest.kolibri.channel_id,
                    "channel_version": manifest.kolibri.channel_version,
                }
            )
        files = [f.path for f in manifest.files]
        zim_files = [f for f in files if f.endswith(".zim")]
        zims += [f"{ref.id}/current/content/{f}" for f in zim_files]
        entry = next((f for f in ENTRY_PAGES if f in files), files[0] if files else "")
        if manifest.kind == "zim" and zim_files:
            entry = Path(zim_files[0]).stem + "/"
        channel = {"channel_id": manifest.kolibri.channel_id} if manifest.kolibri else {}
        bundles.append(
            channel
            | {
                "id": ref.id,
                "version": ref.version,
                "kind": manifest.kind,
                "title": manifest.title,
                "languages": list(manifest.languages),
                "entry": entry,
                "files_sha256": manifest.files_sha256,
                "source": str(sources[(ref.id, ref.version)]),
            }
        )
    languages = [
        {
            "tag": tag,
            "name": language_name(tag),
            "autonym": language_autonym(tag),
        }
        for tag in centre.languages
    ]
    kolibri_vars = (
        {
            "lpdeploy_kolibri_version": kolibri.VERSION,
            "lpdeploy_kolibri_channels": channels,
            "lpdeploy_kolibri_language": kolibri.interface_language(centre.languages),
        }
        if "kolibri" in centre.services
        else {}
    )
    usage = {
        "centre": centre.id,
        "context": {
            "country": region.country if region else "",
            "region": region.area if region else "",
            "languages": centre.languages,
            "bundles": {
                ref.id: {
                    "languages": list(manifests[(ref.id, ref.version)].languages),
                    "subjects": list(manifests[(ref.id, ref.version)].subjects),
                }
                for ref in centre.bundles
            },
        },
        "log": USAGE_LOG,
        "zims": {Path(z).stem: z.split("/", 1)[0] for z in zims},
        "channels": {c["channel_id"]: c["bundle"] for c in channels},
        "kolibri_db": KOLIBRI_DB if "kolibri" in centre.services else "",
    }
    country = {"lpdeploy_country": region.country} if region else {}
    keep = [{"id": b.id, "version": b.version} for b in centre.keep]
    return (
        kolibri_vars
        | country
        | ({"lpdeploy_bundles_keep": keep} if keep else {})
        | {
            "lpdeploy_usage": usage,
            "lpdeploy_centre": centre.id,
            "lpdeploy_arch": centre.arch,
            "lpdeploy_timezone": centre.timezone,
            "lpdeploy_services": centre.services,
            "lpdeploy_bundles": bundles,
            "lpdeploy_zims": zims,
            "lpdeploy_languages": languages,
            "lpdeploy_portal_text": {
                language["tag"]: portal_text(language["tag"]) for language in languages
            },
        }
    )


def desired_state(host_vars: dict[str, Any], group_vars: dict[str, Any], salt: str) -> str:
    """A digest of everything a run asks of one server. Where a file lives on the
    controller is left out: the same bundles from a field kit are the same state."""
    bundles = [{k: v for k, v in b.items() if k != "source"} for b in host_vars["lpdeploy_bundles"]]
    own = {k: v for k, v in host_vars.items() if k not in LOCATIONS}
    shared = {k: v for k, v in group_vars.items() if k not in LOCATIONS}
    document = {"host": own | {"lpdeploy_bundles": bundles}, "group": shared, "salt": salt}
    return hashlib.sha256(canonical_json(document)).hexdigest()


def render_inventory(
    plan: Plan,
    manifests: dict[tuple[str, str], BundleManifest],
    sources: dict[tuple[str, str], Path],
    group_vars: dict[str, Any],
    known_hosts: set[str] | None,
    salt: str = "",
    per_arch: dict[str, dict[str, Any]] | None = None,
) -> tuple[str, dict[str, str]]:
    """YAML of the centres group, and each centre's desired-state digest. With
    `known_hosts` (the hosts of the user's inventory), centres are found there; otherwise
    each needs its plan `host`. `salt` is a digest of the playbooks that will run;
    `per_arch`, more variables for the centres of each architecture (its repository)."""
    missing = [
        c.id
        for c in plan.centres
        if (c.id not in known_hosts if known_hosts is not None else not c.host)
    ]
    if missing:
        where = (
            "in the inventory"
            if known_hosts is not None
            else "a host in the plan (give --inventory)"
        )
        raise InputError.single(
            "plan", f"centres without a server: {', '.join(missing)}; expected {where}", "centres"
        )
    hosts: dict[str, Any] = {}
    desired: dict[str, str] = {}
    for centre in plan.centres:
        host_vars = centre_vars(centre, manifests, sources, plan.region)
        host_vars |= (per_arch or {}).get(centre.arch, {})
        desired[centre.id] = desired_state(host_vars, group_vars, salt)
        host_vars["lpdeploy_desired_state"] = desired[centre.id]
        if known_hosts is None and centre.host:
            host_vars["ansible_host"] = centre.host
        hosts[centre.id] = host_vars
    document = {GROUP: {"hosts": hosts, "vars": dict(sorted(group_vars.items()))}}
    return yaml.safe_dump(document, sort_keys=True, allow_unicode=True, width=1000), desired
