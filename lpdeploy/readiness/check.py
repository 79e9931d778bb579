"""Check every centre: one Ansible round runs the server-side checks on all servers at
once, while this machine checks each portal and its courses over HTTP."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import http.client
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from lpdeploy import kolibri
from lpdeploy.bundle.manifest import KolibriChannel
from lpdeploy.catalog import Catalog
from lpdeploy.connect import Connection, Connector
from lpdeploy.errors import NotRightError
from lpdeploy.inventory.render import centre_vars
from lpdeploy.plan.model import Plan, PlanCentre
from lpdeploy.profile.hardware import HEADROOM_FRACTION
from lpdeploy.readiness.report import CheckResult, ReadinessReport, centre_report
from lpdeploy.runner.centres import reach_centres, run_on_centres
from lpdeploy.runner.hub import Hub

SERVER_CHECK = Path(__file__).with_name("server_check.py")
KOLIBRI_CHANNELS = "/kolibri/api/public/v1/channels"
BUNDLE_ROOT = "/srv/lpdeploy/bundles"
HTTP_TIMEOUT = 5.0
Get = Callable[[str], tuple[int | None, str]]
Channels = dict[tuple[str, str], tuple[KolibriChannel, int | None]]
"""(bundle id, version): the Kolibri channel it holds and its resource count."""


def check_readiness(
    plan: Plan,
    catalog: Catalog,
    inventory: Path | None,
    workdir: Path,
    deep: bool,
    plan_name: str,
    via: str | None = None,
) -> ReadinessReport:
    """With `via` (a hub the inventory names), the server checks run from the hub and the
    web checks go through SSH channels it opens: nothing here needs a route to a centre."""
    cache = workdir.parent / "cache"
    connections, hubs = reach_centres(plan, inventory, cache, via)
    addresses = {centre: c.address for centre, c in connections.items()}
    manifests = {key: folder / "bundle.json" for key, folder in catalog.folders.items()}
    wanted = {c.id: {"lpdeploy_verify": _expectation(c, manifests, deep)} for c in plan.centres}
    channels = planned_channels(plan.centres, catalog)
    with contextlib.ExitStack() as stack, ThreadPoolExecutor(max_workers=16) as pool:
        getters: dict[str, Get] = {}
        for hub in {h.name: h for h in hubs.values()}.values():
            try:
                getters[hub.name] = _getter(stack.enter_context(hub.tunnel()))
            except NotRightError as exc:  # the server checks say it for each of its centres
                getters[hub.name] = _refused(str(exc))

        def get_for(centre: str) -> Get:
            return getters[hubs[centre].name] if centre in hubs else _get

        web = {
            c.id: pool.submit(_web_checks, c, addresses[c.id], catalog, get_for(c.id), channels)
            for c in plan.centres
        }
        server = _server_checks(workdir, inventory, connections, wanted, hubs)
        centres = []
        for centre in plan.centres:
            checks = server[centre.id]
            reachable = next(c for c in checks if c.name == "reachable")
            if reachable.ok:
                checks += web[centre.id].result()
            centres.append(centre_report(centre.id, addresses[centre.id], checks))
    return ReadinessReport(plan=plan_name, ready=all(c.ready for c in centres), centres=centres)


def _refused(why: str) -> Get:
    def get(url: str) -> tuple[int | None, str]:
        return None, why

    return get


def _expectation(centre: PlanCentre, manifests: dict[tuple[str, str], Path], deep: bool) -> str:
    bundles = []
    for ref in centre.bundles:
        manifest = manifests.get((ref.id, ref.version))
        digest = hashlib.sha256(manifest.read_bytes()).hexdigest() if manifest else ""
        bundles.append({"id": ref.id, "version": ref.version, "manifest_sha256": digest})
    wanted = {
        "timezone": centre.timezone,
        "arch": centre.arch,
        "services": centre.services,
        "bundles": bundles,
        "deep": deep,
        "now": time.time(),
        "headroom_fraction": HEADROOM_FRACTION,
        "bundle_root": BUNDLE_ROOT,
    }
    return base64.b64encode(json.dumps(wanted).encode()).decode()


def _server_checks(
    workdir: Path,
    inventory: Path | None,
    connections: dict[str, Connection],
    wanted: dict[str, dict[str, Any]],
    hubs: dict[str, Hub],
) -> dict[str, list[CheckResult]]:
    answers = run_on_centres(
        workdir, inventory, connections, module="ansible.builtin.script",
        module_args=f"{SERVER_CHECK} {{{{ lpdeploy_verify }}}} executable=python3",
        host_vars=wanted, files=[SERVER_CHECK], hubs=hubs,
    )  # fmt: skip
    found: dict[str, list[CheckResult]] = {}
    reached = CheckResult(name="reachable", ok=True, detail="SSH with the pinned host key")
    for host, answer in answers.items():
        if answer.outcome == "unreachable":
            found[host] = [CheckResult(name="reachable", ok=False, detail=answer.message)]
        elif answer.outcome == "ok":
            stdout = str(answer.result.get("stdout", "[]"))
            found[host] = [reached, *(CheckResult(**c) for c in json.loads(stdout))]
        else:
            why = f"the checks could not run: {answer.message}"
            found[host] = [reached, CheckResult(name="system", ok=False, detail=why)]
    return found


def _web_checks(
    centre: PlanCentre, address: str, catalog: Catalog, get: Get, channels: Channels
) -> list[CheckResult]:
    status, page = get(f"http://{address}/")
    if status != 200:
        return [
            CheckResult(
                name="portal", ok=False, detail=f"http://{address}/ answered {status or 'nothing'}"
            ),
            CheckResult(name="content", ok=False, detail="not checked: no portal"),
        ]
    missing = [b.id for b in centre.bundles if f'data-bundle="{b.id}"' not in page]
    portal = CheckResult(
        name="portal",
        ok=not missing,
        detail=f"does not list {', '.join(missing)}"
        if missing
        else f"200, lists all {len(centre.bundles)} bundles",
    )
    manifests = {(b.id, b.version): b for b in catalog.bundles}
    unknown = [b.id for b in centre.bundles if (b.id, b.version) not in manifests]
    entries = (
        centre_vars(centre, manifests, catalog.folders)["lpdeploy_bundles"]
        if not missing and not unknown
        else []
    )
    broken = []
    for entry in entries:
        path = (
            f"/kiwix/{entry['entry']}"
            if entry["kind"] == "zim"
            else f"/courses/{entry['id']}/current/content/{entry['entry']}"
        )
        code, _ = get(f"http://{address}{path}")
        if code != 200:
            broken.append(f"{entry['id']} ({path}: {code or 'no answer'})")
    if broken:
        detail = "; ".join(broken)
    elif unknown and not missing:
        detail = f"not checked: {', '.join(unknown)} not in the catalog (--catalog)"
    else:
        detail = "every course answers 200" if entries else "not checked: portal incomplete"
    content = CheckResult(
        name="content", ok=not broken and not missing and not unknown, detail=detail
    )
    if "kolibri" not in centre.services:
        return [portal, content]
    return [portal, content, _kolibri_check(centre, address, channels, get)]


def planned_channels(centres: Iterable[PlanCentre], catalog: Catalog) -> Channels:
    """Each planned Kolibri bundle's channel and how many resources its database holds
    (None where the catalog has no files), read once for every centre that has it."""
    manifests = {(b.id, b.version): b for b in catalog.bundles}
    found: Channels = {}
    for key in sorted({(r.id, r.version) for c in centres for r in c.bundles}):
        manifest = manifests.get(key)
        if manifest is None or manifest.kolibri is None:
            continue
        folder = catalog.folders.get(key)
        channel = manifest.kolibri
        count = (
            kolibri.channel_resources(folder / "content", channel.channel_id) if folder else None
        )
        found[key] = (channel, count)
    return found


def _kolibri_check(centre: PlanCentre, address: str, channels: Channels, get: Get) -> CheckResult:
    """Kolibri answers, and holds each planned channel at its version with all its
    resources (Kolibri's own public API), and no channel the plan does not name."""
    url = f"http://{address}{KOLIBRI_CHANNELS}"
    status, body = get(url)
    try:
        found = {c["id"]: c for c in json.loads(body)} if status == 200 else None
    except (ValueError, TypeError, KeyError):
        found = None
    if found is None:
        return CheckResult(name="kolibri", ok=False, detail=f"{url} answered {status or 'nothing'}")
    problems = []
    planned = set()
    for ref in centre.bundles:
        if (ref.id, ref.version) not in channels:
            continue
        channel, expected = channels[(ref.id, ref.version)]
        planned.add(channel.channel_id)
        held = found.get(channel.channel_id)
        if held is None:
            problems.append(f"{ref.id}: channel {channel.channel_id} missing")
            continue
        if held.get("version") != channel.channel_version:
            problems.append(
                f"{ref.id}: version {held.get('version')}, planned {channel.channel_version}"
            )
        count = held.get("total_resource_count")
        if expected is not None and count != expected:
            problems.append(f"{ref.id}: {count} resources available, the bundle has {expected}")
    extra = sorted(set(found) - planned)
    problems += [f"not in the plan: {found[c].get('name', '')} ({c})" for c in extra]
    how_many = f"{len(planned)} channel{'' if len(planned) == 1 else 's'}"
    fine = f"{how_many} at the planned version, every resource available"
    return CheckResult(name="kolibri", ok=not problems, detail="; ".join(problems) or fine)


def _get(url: str) -> tuple[int | None, str]:
    try:
        with urllib.request.urlopen(url, timeout=HTTP_TIMEOUT) as response:
            return int(response.status), response.read(2_000_000).decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return exc.code, ""
    except (urllib.error.URLError, OSError):
        return None, ""


def _getter(connect: Connector) -> Get:
    """GET over streams `connect` opens (SSH channels through a hub), following redirects."""

    def get(url: str) -> tuple[int | None, str]:
        for _ in range(5):
            parts = urllib.parse.urlsplit(url)
            host, port = parts.hostname or "", parts.port or 80
            connection = http.client.HTTPConnection(host, port, timeout=HTTP_TIMEOUT)
            try:
                stream = connect(host, port)
                stream.settimeout(HTTP_TIMEOUT)
                connection.sock = stream
                connection.request("GET", parts.path or "/")
                response = connection.getresponse()
                location = response.getheader("Location")
                if response.status in (301, 302, 303, 307, 308) and location:
                    url = urllib.parse.urljoin(url, location)
                    continue
                return response.status, response.read(2_000_000).decode("utf-8", "replace")
            except (OSError, http.client.HTTPException):
                return None, ""
            finally:
                connection.close()
        return None, ""

    return get
