"""The rollout: check the bundles, build the inventory, run the playbook wave by wave."""

from __future__ import annotations

import contextlib
import hashlib
import queue
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

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
from lpdeploy.runner.hub import ROOT, Hub, hub_from
from lpdeploy.runner.inventory import inventory_connections
from lpdeploy.runner.job import STOP_GRACE
from lpdeploy.runner.reduce import RunState, reduce_event
from lpdeploy.runner.run import start_run
from lpdeploy.runner.spec import build_spec

UNCHANGED = "unchanged: the server holds this desired state"


class RunInterruptedError(LpdeployError):
    exit_code = 130

    def __init__(self, message: str, result: ApplyResult | None = None) -> None:
        super().__init__(message)
        self.result = result


class _WaveInterruptedError(Exception):
    def __init__(self, done: list[CentreResult]) -> None:
        self.done = done


class Progress(Protocol):
    def wave_started(self, wave: int, hosts: list[str]) -> None: ...
    def update(self, state: RunState) -> None: ...
    def wave_finished(self, wave: int, state: RunState) -> None: ...


class AnsibleWatch(Protocol):
    def ansible_started(self, group: int) -> None: ...


@dataclass
class CentreResult:
    centre: str
    wave: int
    outcome: str
    """ok, changed, failed, unreachable, incomplete, interrupted or not-run."""
    changed: int = 0
    message: str = ""


@dataclass
class ApplyResult:
    run_id: int
    centres: list[CentreResult] = field(default_factory=list)
    stopped: str | None = None
    resumes: int | None = None
    """The unfinished run this one continued (--resume)."""
    via: str | None = None
    """The hub the run went through, if any."""
    sent_to_hub: int = 0
    """Bytes rsync sent to the hub (bundles and the package archive it lacked)."""

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


def apply_plan(
    rollout: Rollout, journal: Journal, progress: Progress, watch: AnsibleWatch | None = None
) -> ApplyResult:
    manifests, sources = check_bundles(rollout.plan, rollout.catalog, list(rollout.trusted_keys))
    connections = _connections(rollout)
    hub = None
    if rollout.via is not None:
        hub = hub_from(rollout.via, connections)
        connections.pop(rollout.via)
    known = set(connections) if rollout.inventory else None
    pinned = pinned_files(connections.values())
    per_arch = {
        arch: {
            "lpdeploy_repo_archive": str(
                Relay.archive_there(repo.archive) if hub else repo.archive
            ),
            "lpdeploy_repo_key": repo.key,
        }
        for arch, repo in rollout.repos.items()
    }
    group_vars = dict(rollout.extra_group_vars)
    salt = tree_digest(rollout.playbook.parent) + secrets_digest(rollout.secrets)
    there = {key: Relay.bundle_there(key) for key in sources} if hub else sources
    text, desired = render_inventory(
        rollout.plan, manifests, there, group_vars, known, salt, per_arch
    )
    rollout.workdir.mkdir(parents=True, exist_ok=True)
    generated = rollout.workdir / "centres.yml"
    write_atomic(generated, text.encode("utf-8"), mode=0o600)
    inventories = [rollout.inventory, generated] if rollout.inventory else [generated]
    resumes = _resumed_run(rollout, journal) if rollout.resume else None
    run_id = journal.start_run(
        "apply" if rollout.rollback_to is None else "rollback",
        rollout.plan.profile.name,
        rollout.plan.profile.sha256,
        resumes=resumes,
        plan=canonical_json(rollout.plan).decode(),
        rollback_to=rollout.rollback_to,
    )
    result = ApplyResult(run_id=run_id, resumes=resumes)
    selected = [c for c in rollout.plan.centres if _selected(rollout, c.id)]
    archives = {c.id: rollout.repos[c.arch].archive for c in selected}
    relay = Relay(hub, sources, archives) if hub else None
    result.via = hub.name if hub else None
    try:
        _roll(rollout, journal, progress, watch, result, selected, inventories, desired, pinned,
              connections, relay)  # fmt: skip
    except KeyboardInterrupt:
        result.stopped = "interrupted"
    finally:
        if relay is not None:
            result.sent_to_hub = relay.sent
        if result.stopped == "interrupted":
            recorded = {c.centre for c in result.centres}
            for centre in (c for c in selected if c.id not in recorded):
                result.centres.append(
                    CentreResult(centre.id, centre.wave, "not-run", message="interrupted")
                )
                journal.record_centre(run_id, centre.id, centre.wave, "not-run", 0, 0.0,
                                      "interrupted")  # fmt: skip
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


def _roll(
    rollout: Rollout,
    journal: Journal,
    progress: Progress,
    watch: AnsibleWatch | None,
    result: ApplyResult,
    selected: list[PlanCentre],
    inventories: list[Path],
    desired: dict[str, str],
    pinned: list[Path],
    connections: dict[str, Connection],
    relay: Relay | None,
) -> None:
    """Pre-flight, then wave by wave; a Ctrl-C in Ansible ends it with result.stopped set."""
    run_id = result.run_id
    hub = relay.hub if relay else None
    refused, recorded = _preflight(rollout, connections, pinned, selected, hub)
    held = {} if rollout.force or rollout.check else recorded
    for wave in sorted({c.wave for c in selected}):
        in_wave = [c.id for c in selected if c.wave == wave]
        done_already = [h for h in in_wave if h not in refused and held.get(h) == desired[h]]
        hosts = [h for h in in_wave if h not in done_already and h not in refused]
        for host in done_already:
            result.centres.append(CentreResult(host, wave, "ok", message=UNCHANGED))
            journal.record_centre(run_id, host, wave, "ok", 0, 0.0, UNCHANGED)
        skipped = [
            CentreResult(h, wave, "not-run", message=f"preflight: {refused[h]}")
            for h in in_wave
            if h in refused
        ]
        for centre in skipped:
            journal.record_centre(run_id, centre.centre, wave, "not-run", 0, 0.0, centre.message)
        result.centres += skipped
        if not hosts:
            result.stopped = result.stopped or _stop_reason(rollout, wave, skipped)
            continue
        if result.stopped:
            result.centres += [
                CentreResult(h, wave, "not-run", message=result.stopped) for h in hosts
            ]
            continue
        if relay is not None:
            relay.stage([c for c in selected if c.id in hosts])
        try:
            done = _run_wave(rollout, inventories, wave, hosts, progress, watch, pinned, hub)
        except _WaveInterruptedError as stop:
            done = stop.done
            result.stopped = "interrupted"
        for centre in done:
            journal.record_centre(
                run_id, centre.centre, wave, centre.outcome, centre.changed, 0.0, centre.message
            )
        result.centres += done
        if result.stopped == "interrupted":
            return
        result.stopped = _stop_reason(rollout, wave, [*skipped, *done])


@dataclass
class Relay:
    """What a run through a hub copies there: each bundle and the package repository go
    over the link to the hub once (rsync sends nothing for what the hub holds), and the
    hub's Ansible takes them on to the centres."""

    hub: Hub
    sources: dict[tuple[str, str], Path]
    archives: dict[str, Path]
    """Per centre, the package archive of its architecture."""
    staged: set[Path] = field(default_factory=set)
    sent: int = 0
    """Bytes rsync sent to the hub."""

    def stage(self, centres: list[PlanCentre]) -> None:
        """Copy to the hub what these centres need of it (once per apply)."""
        archives = {self.archives[c.id] for c in centres}
        wanted = {archive: self.archive_there(archive) for archive in sorted(archives)}
        for ref in (b for c in centres for b in c.bundles):
            key = (ref.id, ref.version)
            wanted[self.sources[key]] = self.bundle_there(key)
        for source, there in wanted.items():
            if source not in self.staged:
                self.sent += self.hub.push(source, str(there), checksum=source in archives)
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
    hub: Hub | None,
) -> tuple[dict[str, str], dict[str, str | None]]:
    """Centres whose server fails pre-flight, with why (apply does not run on them); and
    the desired state each server recorded after its last complete apply."""
    ids = {c.id for c in centres}
    present = {k: v for k, v in connections.items() if k in ids}
    if hub is None:
        found = survey(rollout.plan, present, pinned)
    else:
        with hub.tunnel() as through_hub:
            found = survey(rollout.plan, present, pinned, through_hub)
    refused = {
        centre.id: "; ".join(f"{c.name}: {c.detail}" for c in centre.checks if not c.ok)
        for centre in found.report.centres
        if not centre.ready
    }
    return refused, found.held


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
    inventories: list[Path],
    wave: int,
    hosts: list[str],
    progress: Progress,
    watch: AnsibleWatch | None,
    pinned: list[Path],
    hub: Hub | None,
) -> list[CentreResult]:
    spec = build_spec(
        rollout.workdir / f"wave-{wave}",
        inventories,
        playbook=rollout.playbook,
        limit=",".join(hosts),
        forks=rollout.forks,
        check=rollout.check,
        known_hosts=pinned,
        secrets={f"lpdeploy_secret_{name}": value for name, value in rollout.secrets.items()},
        via=hub,
    )
    progress.wave_started(wave, hosts)
    run = start_run(spec)
    state = RunState()
    group = None
    try:
        while not (run.finished and run.events.empty()):
            with contextlib.suppress(queue.Empty):
                reduce_event(state, run.events.get(timeout=0.2))
            if group is None and watch is not None:
                group = run.process_group()
                if group is not None:
                    watch.ansible_started(group)
            progress.update(state)
    except KeyboardInterrupt:
        run.interrupt(STOP_GRACE)
        while not run.events.empty():
            reduce_event(state, run.events.get())
        progress.wave_finished(wave, state)
        raise _WaveInterruptedError([_interrupted(state, host, wave) for host in hosts]) from None
    progress.wave_finished(wave, state)
    results = [_centre_result(state, host, wave) for host in hosts]
    if not state.complete and spec.via is not None:
        from lpdeploy.runner.relay import relay_problem

        why = relay_problem(spec)
        for result in (r for r in results if not r.message):
            result.message = why
    return results


def _interrupted(state: RunState, host: str, wave: int) -> CentreResult:
    progress = state.hosts.get(host)
    where = f"at task: {progress.task}" if progress and progress.task else "before its first task"
    return CentreResult(host, wave, "interrupted", progress.changed if progress else 0, where)


def _centre_result(state: RunState, host: str, wave: int) -> CentreResult:
    progress = state.hosts.get(host)
    if progress is None:
        return CentreResult(host, wave, "not-run" if state.complete else "incomplete")
    outcome = progress.outcome if state.complete else "incomplete"
    if outcome == "pending":
        outcome = "ok"
    return CentreResult(host, wave, outcome, progress.changed, progress.message)
