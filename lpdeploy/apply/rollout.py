"""The rollout: check the bundles, build the inventory, run the playbook wave by wave."""

from __future__ import annotations

import contextlib
import hashlib
import queue
import shutil
import threading
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Protocol

from lpdeploy.apply.ahead import Ahead, AnsibleWatch
from lpdeploy.apply.pushes import Push, read_pushes
from lpdeploy.bundle.hashing import tree_digest
from lpdeploy.bundle.keys import PublicKey
from lpdeploy.bundle.manifest import BundleManifest
from lpdeploy.bundle.verify import verify_bundle
from lpdeploy.catalog import Catalog
from lpdeploy.connect import Connection, pinned_files
from lpdeploy.errors import InputError, LpdeployError, NotRightError
from lpdeploy.inventory.render import render_inventory
from lpdeploy.inventory.skeleton import refuse_placeholders
from lpdeploy.journal import Journal
from lpdeploy.kit.packages import PackageRepo
from lpdeploy.output import canonical_json, write_atomic
from lpdeploy.plan.model import Plan, PlanCentre
from lpdeploy.preflight import survey
from lpdeploy.rates import rsync_kib
from lpdeploy.runner.hub import ROOT, Hub, hub_from, plan_hubs
from lpdeploy.runner.inventory import inventory_connections
from lpdeploy.runner.job import STOP_GRACE, Run
from lpdeploy.runner.reduce import HostProgress, RunState, reduce_event
from lpdeploy.runner.run import close_connections, start_run
from lpdeploy.runner.spec import build_spec, control_path_dir

UNCHANGED = "unchanged: the server holds this desired state"
STAGE_PLAYBOOK = "stage.yml"
"""Beside site.yml: the play that stages later waves' bundles while a wave runs."""


class RunInterruptedError(LpdeployError):
    exit_code = 130

    def __init__(self, message: str, result: ApplyResult | None = None) -> None:
        super().__init__(message)
        self.result = result


class _WaveInterruptedError(Exception):
    def __init__(self, done: list[CentreResult]) -> None:
        self.done = done


@dataclass
class WaveView:
    """One wave as it runs: every route's Ansible run (a hub's, or this machine's for the
    centres it reaches itself) folded into one state per route."""

    wave: int
    hub_of: dict[str, str | None]
    """Each centre of the wave and the hub running it (None: this machine)."""
    states: dict[str | None, RunState] = field(default_factory=dict)
    started: float = field(default_factory=time.time)
    finished: dict[str, float] = field(default_factory=dict)
    """When each centre's outcome became final."""
    begun: dict[str | None, float] = field(default_factory=dict)
    """When each route's playbook started (its playbook_on_start event came back)."""
    settled: list[CentreResult] = field(default_factory=list)
    """Centres of the wave decided without Ansible: unchanged, refused by pre-flight, or
    behind a hub that could not be reached."""
    push_dir: Path | None = None
    """Where the pushes to this machine's own centres keep their progress files."""
    pushes: dict[str, Push] = field(default_factory=dict)
    read_at: float = 0.0

    def read_pushes(self, now: float, runs: Iterable[Run] = (), last: bool = False) -> None:
        """Once a second at most (and with `last`, once more): the pushes' bytes and rates,
        this machine's and those the hubs' runs (`runs`) relay."""
        if last or now - self.read_at >= 1:
            self.read_at = now
            self.pushes = read_pushes(self.push_dir, [run.push_files for run in runs])

    def host(self, name: str) -> HostProgress | None:
        return self.states[self.hub_of[name]].hosts.get(name) if name in self.hub_of else None

    def note_finished(self, now: float) -> list[str]:
        """Centres whose outcome became final since the last call: a failed or unreachable
        one at once (Ansible drops it), the others when their route's run completes."""
        newly = []
        for name, hub in self.hub_of.items():
            if name in self.finished:
                continue
            state = self.states.get(hub)
            progress = state.hosts.get(name) if state else None
            final = state is not None and state.complete
            if progress is not None and progress.outcome in ("failed", "unreachable"):
                final = True
            if final:
                self.finished[name] = now
                newly.append(name)
        return newly


class Progress(Protocol):
    def wave_started(self, view: WaveView) -> None: ...
    def update(self, view: WaveView) -> None: ...
    def wave_finished(self, view: WaveView) -> None: ...


@dataclass
class CentreResult:
    centre: str
    wave: int
    outcome: str
    """ok, changed, failed, unreachable, incomplete, interrupted or not-run."""
    changed: int = 0
    message: str = ""
    hub: str | None = None
    """The hub whose Ansible ran it (None: this machine)."""
    bundle_bytes: int = 0
    """Bytes of bundles rsync sent to it (what it already held is matched, not sent)."""


@dataclass
class ApplyResult:
    run_id: int
    centres: list[CentreResult] = field(default_factory=list)
    stopped: str | None = None
    resumes: int | None = None
    """The unfinished run this one continued (--resume)."""
    via: str | None = None
    """The hub the run went through (`--via`), if any."""
    sent_to_hub: int = 0
    """Bytes rsync sent to the hubs (bundles and the package archive they lacked)."""
    hubs: dict[str, int] = field(default_factory=dict)
    """Bytes sent to each hub the run went through (the plan's hubs, or `--via`)."""

    @property
    def ok(self) -> bool:
        return all(c.outcome in ("ok", "changed") for c in self.centres)

    @property
    def changed(self) -> int:
        return sum(c.changed for c in self.centres)


@dataclass(frozen=True)
class Rollout:
    plan: Plan
    catalog: Catalog
    repos: dict[str, PackageRepo]
    """The package repository of each architecture the plan's centres have."""
    playbook: Path
    workdir: Path
    inventory: Path | None = None
    limit: set[str] | None = None
    check: bool = False
    max_fail_percent: float = 0.0
    trusted_keys: tuple[PublicKey, ...] = ()
    forks: int = 20
    cache: Path | None = None
    """Where answers that only change with their inputs are kept (inventory listings)."""
    force: bool = False
    """Run even on servers that hold this plan's desired state already."""
    extra_group_vars: dict[str, Any] = field(default_factory=dict)
    resume: bool = False
    """Continue the last unfinished run of this plan (what is done is skipped either way)."""
    secrets: dict[str, str] = field(default_factory=dict, repr=False)
    """The plan's secrets by name (wifi_passphrase...), resolved; handed to Ansible only."""
    via: str | None = None
    """The inventory's name of a hub that runs Ansible near the centres (relay)."""
    rollback_to: int | None = None
    """The earlier run whose plan this one brings back (`lpdeploy rollback`)."""
    bwlimit: int | None = None
    """Bits a second at most on each server's link, and in all on a hub's uplink and on
    the link a hub shares with its centres (`apply --bwlimit`); None: as fast as it goes."""


def check_bundles(
    plan: Plan, catalog: Catalog, trusted: list[PublicKey], refused: str = "nothing was deployed"
) -> tuple[dict[tuple[str, str], BundleManifest], dict[tuple[str, str], Path]]:
    """Every planned bundle must be in the catalog with its content, and intact; `refused`
    says what did not happen when one is not (apply: nothing deployed; kit: not written)."""
    planned = sorted({(b.id, b.version) for c in plan.centres for b in c.bundles})
    manifests = {(b.id, b.version): b for b in catalog.bundles}
    missing = [f"{i}-{v}" for i, v in planned if (i, v) not in catalog.folders]
    if missing:
        raise InputError.single(
            str(catalog.root),
            f"the catalog lacks the content of planned bundles: {', '.join(missing)}",
            "--catalog",
        )
    problems = []
    for key in planned:
        verdict = verify_bundle(catalog.folders[key], trusted)
        if not verdict.ok:
            first = verdict.problems[0]
            more = f" (+{len(verdict.problems) - 1} more)" if len(verdict.problems) > 1 else ""
            problems.append(f"{verdict.bundle}: {first.path}: {first.problem}{more}")
    if problems:
        lines = "".join(f"\n  {p}" for p in problems)
        raise NotRightError(f"bundles refused, {refused}:{lines}")
    return {key: manifests[key] for key in planned}, {key: catalog.folders[key] for key in planned}


@dataclass(eq=False)
class Route:
    """The centres one Ansible runs for: this machine's own (hub None), or a hub's."""

    hub: Hub | None
    centres: list[PlanCentre]
    inventories: list[Path] = field(default_factory=list)
    relay: Relay | None = None
    broken: str | None = None
    """Why the hub cannot be used any more in this run (its centres fail, not the others)."""

    @property
    def name(self) -> str | None:
        return self.hub.name if self.hub else None


def apply_plan(
    rollout: Rollout, journal: Journal, progress: Progress, watch: AnsibleWatch | None = None
) -> ApplyResult:
    with ThreadPoolExecutor(1) as pool:
        # The inventory is read by ansible-inventory, a process of its own, while the bundles
        # are hashed here; a bad bundle is still said first.
        reading = pool.submit(_connections, rollout)
        manifests, sources = check_bundles(
            rollout.plan, rollout.catalog, list(rollout.trusted_keys)
        )
        connections = reading.result()
    routes = _routes(rollout, connections)
    known = set(connections) if rollout.inventory else None
    pinned = pinned_files(connections.values())
    group_vars = dict(rollout.extra_group_vars)
    salt = tree_digest(rollout.playbook.parent) + secrets_digest(rollout.secrets)
    rollout.workdir.mkdir(parents=True, exist_ok=True)
    desired: dict[str, str] = {}
    selected = [c for c in rollout.plan.centres if _selected(rollout, c.id)]
    for route in routes:
        hub = route.hub
        there = {key: Relay.bundle_there(key) for key in sources} if hub else sources
        per_arch = {
            arch: {
                "lpdeploy_repo_archive": str(
                    Relay.archive_there(repo.archive) if hub else repo.archive
                ),
                "lpdeploy_repo_key": repo.key,
            }
            for arch, repo in rollout.repos.items()
        }
        part = rollout.plan.model_copy(update={"centres": route.centres})
        text, found = render_inventory(part, manifests, there, group_vars, known, salt, per_arch)
        desired |= found
        generated = rollout.workdir / (f"centres-{hub.name}.yml" if hub else "centres.yml")
        write_atomic(generated, text.encode("utf-8"), mode=0o600)
        route.inventories = [rollout.inventory, generated] if rollout.inventory else [generated]
        if hub is not None:
            ids = {c.id for c in route.centres}
            archives = {c.id: rollout.repos[c.arch].archive for c in selected if c.id in ids}
            route.relay = Relay(hub, sources, archives, bwlimit=rollout.bwlimit)
    resumes = _resumed_run(rollout, journal) if rollout.resume else None
    run_id = journal.start_run(
        "apply" if rollout.rollback_to is None else "rollback",
        rollout.plan.profile.name,
        rollout.plan.profile.sha256,
        resumes=resumes,
        plan=canonical_json(rollout.plan).decode(),
        rollback_to=rollout.rollback_to,
    )
    result = ApplyResult(run_id=run_id, resumes=resumes, via=rollout.via)
    try:
        _roll(rollout, journal, progress, watch, result, selected, desired, pinned, connections,
              routes)  # fmt: skip
    except KeyboardInterrupt:
        result.stopped = "interrupted"
    finally:
        close_connections(control_path_dir(rollout.workdir))
        result.hubs = {r.relay.hub.name: r.relay.sent for r in routes if r.relay is not None}
        result.sent_to_hub = sum(result.hubs.values())
        if result.stopped == "interrupted":
            recorded = {c.centre for c in result.centres}
            hub_of = {c.id: r.name for r in routes for c in r.centres}
            for centre in (c for c in selected if c.id not in recorded):
                result.centres.append(
                    CentreResult(
                        centre.id,
                        centre.wave,
                        "not-run",
                        message="interrupted",
                        hub=hub_of.get(centre.id),
                    )
                )
                journal.record_centre(run_id, centre.id, centre.wave, "not-run", 0, 0.0,
                                      "interrupted", hub=hub_of.get(centre.id))  # fmt: skip
            journal.finish_run(run_id, "interrupted")
        else:
            journal.finish_run(run_id, "ok" if result.ok and result.centres else "failed")
    if result.stopped == "interrupted":
        raise RunInterruptedError(
            f"interrupted: run {run_id} recorded where each centre stood; "
            "`lpdeploy apply PLAN --resume` finishes it",
            result,
        )
    return result


def _routes(rollout: Rollout, connections: dict[str, Connection]) -> list[Route]:
    """The plan's centres by who runs Ansible for them: `--via`'s hub for all of them, or
    each plan hub for its own and this machine for the rest."""
    plan = rollout.plan
    if rollout.via is not None:
        if plan.hubs:
            raise InputError.single(
                rollout.via, "the plan names its own hubs: apply runs through each of them "
                "without --via", "--via",
            )  # fmt: skip
        hub = hub_from(rollout.via, connections)
        connections.pop(rollout.via)
        return [Route(hub, list(plan.centres))]
    hubs = plan_hubs(plan, connections, connections if rollout.inventory else None)
    for planned in plan.hubs:
        connections.pop(planned.id, None)
    direct = [c for c in plan.centres if c.hub is None]
    routes = [Route(None, direct)] if direct else []
    routes += [Route(hubs[h.id], [c for c in plan.centres if c.hub == h.id]) for h in plan.hubs]
    return routes


def _roll(
    rollout: Rollout,
    journal: Journal,
    progress: Progress,
    watch: AnsibleWatch | None,
    result: ApplyResult,
    selected: list[PlanCentre],
    desired: dict[str, str],
    pinned: list[Path],
    connections: dict[str, Connection],
    routes: list[Route],
) -> None:
    """Pre-flight, then wave by wave, every route of a wave at once; a Ctrl-C in Ansible
    ends it with result.stopped set."""
    refused, recorded = _preflight(rollout, connections, pinned, selected, routes)
    held = {} if rollout.force or rollout.check else recorded
    ahead: list[Ahead] = []
    try:
        _waves(rollout, journal, progress, watch, result, selected, desired, pinned, routes,
               refused, held, ahead)  # fmt: skip
    finally:
        _end_ahead(ahead, stop=True)


def _waves(
    rollout: Rollout,
    journal: Journal,
    progress: Progress,
    watch: AnsibleWatch | None,
    result: ApplyResult,
    selected: list[PlanCentre],
    desired: dict[str, str],
    pinned: list[Path],
    routes: list[Route],
    refused: dict[str, str],
    held: dict[str, str | None],
    ahead: list[Ahead],
) -> None:
    run_id = result.run_id
    route_of = {c.id: route for route in routes for c in route.centres}
    staged_ahead = False
    for wave in sorted({c.wave for c in selected}):
        _end_ahead(ahead, stop=result.stopped is not None)
        already = len(result.centres)
        in_wave = [c.id for c in selected if c.wave == wave]
        done_already = [h for h in in_wave if h not in refused and held.get(h) == desired[h]]
        hosts = [h for h in in_wave if h not in done_already and h not in refused]
        for host in done_already:
            hub = route_of[host].name
            result.centres.append(CentreResult(host, wave, "ok", message=UNCHANGED, hub=hub))
            journal.record_centre(run_id, host, wave, "ok", 0, 0.0, UNCHANGED, hub=hub)
        skipped = [
            CentreResult(
                h, wave, "not-run", message=f"preflight: {refused[h]}", hub=route_of[h].name
            )
            for h in in_wave
            if h in refused
        ]
        if hosts and result.stopped:
            skipped += [
                CentreResult(h, wave, "not-run", message=result.stopped, hub=route_of[h].name)
                for h in hosts
            ]
            hosts = []
        for centre in skipped:
            journal.record_centre(run_id, centre.centre, wave, "not-run", 0, 0.0, centre.message,
                                  hub=centre.hub)  # fmt: skip
        result.centres += skipped
        if not hosts:
            view = WaveView(wave, {})
            view.settled = result.centres[already:]
            progress.wave_started(view)
            progress.wave_finished(view)
            result.stopped = result.stopped or _stop_reason(rollout, wave, skipped)
            continue
        shares = [
            (route, [h for h in hosts if route_of[h] is route])
            for route in routes
            if any(route_of[h] is route for h in hosts)
        ]
        lost = _stage(rollout, shares, wave)
        shares = [(route, members) for route, members in shares if route.broken is None]
        view = WaveView(wave, {h: route.name for route, members in shares for h in members})
        view.settled = [*result.centres[already:], *lost]
        if not staged_ahead and shares:  # the first wave that runs: the canary
            staged_ahead = True
            later = [c.id for c in selected if c.wave > wave and c.id not in refused
                     and held.get(c.id) != desired[c.id]]  # fmt: skip
            ahead += _start_ahead(rollout, routes, later, pinned, watch, shares)
        done = []
        try:
            if shares:
                done = _run_wave(rollout, view, shares, progress, watch, pinned, ahead)
            else:
                progress.wave_started(view)
                progress.wave_finished(view)
        except _WaveInterruptedError as stop:
            done = stop.done
            result.stopped = "interrupted"
        for centre in [*lost, *done]:
            begun = view.begun.get(centre.hub, view.started)
            span = (begun, view.finished.get(centre.centre, time.time()))
            journal.record_centre(
                run_id, centre.centre, wave, centre.outcome, centre.changed,
                round(span[1] - span[0], 3), centre.message, hub=centre.hub,
                span=None if centre in lost else span,
            )  # fmt: skip
        result.centres += [*lost, *done]
        if result.stopped == "interrupted":
            return
        result.stopped = _stop_reason(rollout, wave, [*skipped, *lost, *done])


def _start_ahead(
    rollout: Rollout,
    routes: list[Route],
    later: list[str],
    pinned: list[Path],
    watch: AnsibleWatch | None,
    shares: list[tuple[Route, list[str]]],
) -> list[Ahead]:
    """While the canary wave (`shares`) runs, push the later waves' bundles into staging on
    their servers, through each route (ahead.py), at idle priority; a server before its first
    apply gets the bundle helper, and its bundles by tar (it has no rsync yet; under a
    bandwidth limit it is left to its own wave). Through a hub that runs a canary too, the
    staging waits for the canary's push there (_open_gates)."""
    stage = rollout.playbook.parent / STAGE_PLAYBOOK
    if rollout.check or not stage.exists():
        return []
    canary = {route.name for route, _ in shares}
    started = []
    for route in (r for r in routes if r.broken is None):
        centres = [c for c in route.centres if c.id in later]
        if not centres:
            continue
        hosts = [c.id for c in centres]
        spec = build_spec(
            rollout.workdir / f"stage-ahead{f'-{route.name}' if route.name else ''}",
            route.inventories, playbook=stage, limit=",".join(hosts), forks=rollout.forks,
            known_hosts=pinned, via=route.hub, connections=_connections_dir(rollout, route),
            extravars=_transfer_vars(rollout, route, len(hosts)),
        )  # fmt: skip
        relay = route.relay
        first = partial(relay.stage, centres) if relay else None
        gated = route.hub is not None and route.name in canary
        started.append(Ahead(spec, route.name, first, watch, gated))
    return started


def _end_ahead(ahead: list[Ahead], stop: bool) -> None:
    for one in ahead:
        one.end(stop)
    ahead.clear()


def _stage(
    rollout: Rollout, shares: list[tuple[Route, list[str]]], wave: int
) -> list[CentreResult]:
    """Copy to each hub, at once, what its centres of this wave need; a hub that cannot be
    reached fails its own centres (recorded as unreachable), never the others'."""
    by_id = {c.id: c for c in rollout.plan.centres}
    relayed = [(route, members) for route, members in shares if route.relay is not None]

    def stage(route: Route, members: list[str]) -> None:
        assert route.relay is not None
        if route.broken is None:
            try:
                route.relay.stage([by_id[h] for h in members])
            except NotRightError as exc:
                route.broken = str(exc)

    if relayed:
        with ThreadPoolExecutor(max_workers=min(8, len(relayed))) as pool:
            list(pool.map(lambda share: stage(*share), relayed))
    return [
        CentreResult(h, wave, "unreachable", message=route.broken, hub=route.name)
        for route, members in relayed
        if route.broken is not None
        for h in members
    ]


@dataclass
class Relay:
    """What a run through a hub copies there: each bundle and the package repository go
    over the link to the hub once (rsync sends nothing for what the hub holds), and the
    hub's Ansible takes them on to the centres."""

    hub: Hub
    sources: dict[tuple[str, str], Path]
    archives: dict[str, Path]
    """Per centre, the package archive of its architecture."""
    bwlimit: int | None = None
    """Bits a second at most on the link to the hub."""
    staged: set[Path] = field(default_factory=set)
    sent: int = 0
    """Bytes rsync sent to the hub."""

    def stage(self, centres: list[PlanCentre], stop: threading.Event | None = None) -> None:
        """Copy to the hub what these centres need of it (once per apply); `stop` ends a
        copy under way (it resumes at the next)."""
        archives = {self.archives[c.id] for c in centres}
        wanted = {archive: self.archive_there(archive) for archive in sorted(archives)}
        for ref in (b for c in centres for b in c.bundles):
            key = (ref.id, ref.version)
            wanted[self.sources[key]] = self.bundle_there(key)
        for source, there in wanted.items():
            if source not in self.staged:
                self.sent += self.hub.push(
                    source, str(there), checksum=source in archives,
                    bwlimit_kib=rsync_kib(self.bwlimit) if self.bwlimit else 0, stop=stop,
                )  # fmt: skip
                self.staged.add(source)

    @staticmethod
    def bundle_there(key: tuple[str, str]) -> Path:
        return Path(ROOT) / "bundles" / f"{key[0]}-{key[1]}"

    @staticmethod
    def archive_there(archive: Path) -> Path:
        return Path(ROOT) / "packages" / archive.name


def secrets_digest(secrets: dict[str, str]) -> str:
    """Part of every server's desired state, so that a changed secret is applied again.
    scrypt, not a fast hash: the digest lands on the servers and a weak Wi-Fi passphrase
    must not be found from it by trying guesses."""
    if not secrets:
        return ""
    parts = [
        hashlib.scrypt(value.encode(), salt=f"lpdeploy:{name}".encode(), n=2**14, r=8, p=1)
        for name, value in sorted(secrets.items())
    ]
    return hashlib.sha256(b"".join(parts)).hexdigest()


def _resumed_run(rollout: Rollout, journal: Journal) -> int | None:
    """The last apply of this plan if it did not finish well; None when there is none."""
    last = journal.last_run("apply", rollout.plan.profile.sha256)
    if last is None or last.outcome == "ok":
        return None
    return last.id


def _connections(rollout: Rollout) -> dict[str, Connection]:
    """How each centre is reached: the inventory's word, else the plan's host field."""
    if rollout.inventory:
        found = inventory_connections(rollout.inventory, rollout.cache)
        refuse_placeholders(found, str(rollout.inventory))
        return found
    return {c.id: Connection(host=c.id, address=str(c.host)) for c in rollout.plan.centres}


def _preflight(
    rollout: Rollout,
    connections: dict[str, Connection],
    pinned: list[Path],
    centres: list[PlanCentre],
    routes: list[Route],
) -> tuple[dict[str, str], dict[str, str | None]]:
    """Centres whose server fails pre-flight, with why (apply does not run on them); and
    the desired state each server recorded after its last complete apply. Every route's
    centres are surveyed at once; a hub that does not answer refuses only its own."""
    ids = {c.id for c in centres}
    refused: dict[str, str] = {}
    held: dict[str, str | None] = {}

    def survey_route(route: Route) -> None:
        present = {c.id: connections[c.id] for c in route.centres if c.id in ids}
        if not present:
            return
        try:
            if route.hub is None:
                found = survey(rollout.plan, present, pinned)
            else:
                with route.hub.tunnel() as through_hub:
                    found = survey(rollout.plan, present, pinned, through_hub)
        except NotRightError as exc:
            route.broken = str(exc)
            refused.update({centre: str(exc) for centre in present})
            return
        refused.update(
            {
                centre.id: "; ".join(f"{c.name}: {c.detail}" for c in centre.checks if not c.ok)
                for centre in found.report.centres
                if not centre.ready
            }
        )
        held.update(found.held)

    with ThreadPoolExecutor(max_workers=max(1, min(8, len(routes)))) as pool:
        list(pool.map(survey_route, routes))
    return refused, held


def _selected(rollout: Rollout, centre: str) -> bool:
    return rollout.limit is None or centre in rollout.limit


def _stop_reason(rollout: Rollout, wave: int, done: list[CentreResult]) -> str | None:
    failed = [c for c in done if c.outcome not in ("ok", "changed")]
    if not failed:
        return None
    if wave == 1:
        return f"the canary wave failed ({', '.join(c.centre for c in failed)})"
    share = 100 * len(failed) / len(done)
    if share > rollout.max_fail_percent:
        limit = rollout.max_fail_percent
        return f"wave {wave} failed on {share:.0f}% of its centres (limit {limit:g}%)"
    return None


def _run_wave(
    rollout: Rollout,
    view: WaveView,
    shares: list[tuple[Route, list[str]]],
    progress: Progress,
    watch: AnsibleWatch | None,
    pinned: list[Path],
    ahead: list[Ahead],
) -> list[CentreResult]:
    """Start every route's Ansible for this wave, then fold their events as they come;
    `ahead`: the staging runs beside it (through a hub, each waits for its pushes there)."""
    wave = view.wave
    runs = []
    view.push_dir = rollout.workdir / f"push-{wave}"
    shutil.rmtree(view.push_dir, ignore_errors=True)  # a run of the same second's
    view.push_dir.mkdir(parents=True)
    for route, members in shares:
        suffix = f"-{route.name}" if route.name else ""
        folder = rollout.workdir / f"wave-{wave}{suffix}"
        # Through a hub, the pushes keep their files in the job's folder there (relay.py
        # moves the path and relays them).
        pushes = view.push_dir if route.hub is None else folder / "pushes"
        spec = build_spec(
            folder,
            route.inventories,
            playbook=rollout.playbook,
            limit=",".join(members),
            forks=rollout.forks,
            check=rollout.check,
            known_hosts=pinned,
            secrets={f"lpdeploy_secret_{name}": value for name, value in rollout.secrets.items()},
            via=route.hub,
            connections=_connections_dir(rollout, route),
            extravars={
                **_transfer_vars(rollout, route, len(members)),
                "lpdeploy_push_progress": str(pushes),
                **({"lpdeploy_force": True} if rollout.force else {}),
            },
        )
        view.states[route.name] = RunState()
        runs.append((route, spec, start_run(spec)))
    progress.wave_started(view)
    watched: set[int] = set()
    members_of = dict(shares)
    try:
        while not all(run.finished and run.events.empty() for _, _, run in runs):
            quiet = True
            for route, _, run in runs:
                with contextlib.suppress(queue.Empty):
                    while True:
                        event = run.events.get_nowait()
                        reduce_event(view.states[route.name], event)
                        if event.get("event") == "playbook_on_start":
                            view.begun.setdefault(route.name, time.time())
                        quiet = False
                if not quiet:
                    _open_gates(ahead, route, view.states[route.name], members_of[route], run)
                if watch is not None and id(run) not in watched and route.hub is None:
                    group = run.process_group()  # a scan of /proc: only until it is found
                    if group is not None:
                        watched.add(id(run))
                        watch.ansible_started(group)
            view.note_finished(time.time())
            view.read_pushes(time.time(), [run for _, _, run in runs])
            progress.update(view)
            if quiet:
                time.sleep(0.1)
    except KeyboardInterrupt:
        with ThreadPoolExecutor(max_workers=len(runs)) as pool:
            list(pool.map(lambda entry: entry[2].interrupt(STOP_GRACE), runs))
        for route, _, run in runs:
            while not run.events.empty():
                reduce_event(view.states[route.name], run.events.get())
        view.note_finished(time.time())
        progress.wave_finished(view)
        raise _WaveInterruptedError(
            [
                _interrupted(view.states[route.name], host, wave, route.name)
                for route, members in shares
                for host in members
            ]
        ) from None
    view.note_finished(time.time())
    view.read_pushes(time.time(), [run for _, _, run in runs], last=True)
    progress.wave_finished(view)
    results = []
    for route, spec, _ in runs:
        state = view.states[route.name]
        found = [_centre_result(state, host, wave, route.name) for host in members_of[route]]
        if not state.complete and spec.via is not None:
            from lpdeploy.runner.relay import relay_problem

            why = relay_problem(spec)
            for result in (r for r in found if not r.message):
                result.message = why
        results += found
    return results


def _open_gates(
    ahead: list[Ahead], route: Route, state: RunState, members: list[str], run: Run
) -> None:
    """Staging ahead through this route's hub starts once this wave's pushes there end."""
    pushed = run.finished or all(
        (progress := state.hosts.get(h)) is not None and progress.pushed for h in members
    )
    for one in ahead:
        if one.route == route.name and pushed:
            one.gate.set()


def _connections_dir(rollout: Rollout, route: Route) -> Path | None:
    """The SSH connections of this machine's runs outlive each: a server's staging run
    opens the one its own wave then uses (apply_plan closes them as it ends). A hub's
    runs keep theirs on the hub, each run its own."""
    return control_path_dir(rollout.workdir) if route.hub is None else None


def _transfer_vars(rollout: Rollout, route: Route, members: int) -> dict[str, Any]:
    """rsync's --bwlimit for each push of this route's Ansible: the whole limit for each
    server this machine reaches itself; through a hub, the limit shared by the pushes that
    run at once on the hub's one link to its centres (staging ahead there waits for the
    canary's pushes: they never share it)."""
    if rollout.bwlimit is None:
        return {}
    at_once = min(rollout.forks, members) if route.hub is not None else 1
    return {"lpdeploy_bwlimit_kib": rsync_kib(rollout.bwlimit // max(1, at_once))}


def _interrupted(state: RunState, host: str, wave: int, hub: str | None) -> CentreResult:
    progress = state.hosts.get(host)
    where = f"at task: {progress.task}" if progress and progress.task else "before its first task"
    changed = progress.changed if progress else 0
    return CentreResult(host, wave, "interrupted", changed, where, hub=hub)


def _centre_result(state: RunState, host: str, wave: int, hub: str | None) -> CentreResult:
    progress = state.hosts.get(host)
    if progress is None:
        return CentreResult(host, wave, "not-run" if state.complete else "incomplete", hub=hub)
    outcome = progress.outcome if state.complete else "incomplete"
    if progress.outcome in ("failed", "unreachable"):
        outcome = progress.outcome
    if outcome == "pending":
        outcome = "ok"
    return CentreResult(host, wave, outcome, progress.changed, progress.message, hub=hub,
                        bundle_bytes=progress.bundle_bytes)  # fmt: skip
