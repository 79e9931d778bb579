"""`lpdeploy apply PLAN` and `lpdeploy status`."""

from __future__ import annotations

import contextlib
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any

import typer

from lpdeploy.apply.lock import RunLock
from lpdeploy.apply.rollout import (
    ApplyResult,
    Progress,
    Rollout,
    RunInterruptedError,
    apply_plan,
)
from lpdeploy.bundle.keys import load_public_key
from lpdeploy.catalog import load_catalog
from lpdeploy.cli.options import CatalogDir, Json, Via, catalog_path, need_inventory
from lpdeploy.errors import RC
from lpdeploy.journal import APPLIED, Journal
from lpdeploy.kit.packages import package_repos
from lpdeploy.kit.verify import open_kit
from lpdeploy.lab.fleet import CACHE
from lpdeploy.plan.load import load_plan
from lpdeploy.plan.model import Plan
from lpdeploy.rates import parse_rate
from lpdeploy.secrets import resolve_secrets
from lpdeploy.settings import playbooks_dir, state_dir, trusted_keys_dir
from lpdeploy.ui.console import err, print_json
from lpdeploy.ui.progress import LiveProgress, PlainProgress, QuietProgress, show_result

TrustedKeys = Annotated[
    list[Path] | None,
    typer.Option(help="Public key trusted to sign bundles [default: bundles/keys/*.pub]"),
]
Inventory = Annotated[Path | None, typer.Option(help="Ansible inventory naming the centres.")]
Limit = Annotated[str | None, typer.Option(help="Only these centres (comma-separated).")]
Check = Annotated[bool, typer.Option("--check", help="Ansible check mode: change nothing.")]
MaxFail = Annotated[
    float, typer.Option(min=0, max=100, help="Stop when a wave fails on more centres (%).")
]
Force = Annotated[
    bool, typer.Option("--force", help="Run on servers that hold this desired state already.")
]
VaultPasswordFile = Annotated[
    Path | None,
    typer.Option(
        envvar="LPDEPLOY_VAULT_PASSWORD_FILE",
        help="File holding the password of the ansible-vault the profile's secrets name.",
    ),
]
KitDir = Annotated[
    Path | None,
    typer.Option(
        help="Deploy from this field kit (verified first): its bundles, packages and "
        "playbooks; PLAN must be the kit's plan.json.",
    ),
]
Resume = Annotated[
    bool,
    typer.Option(
        "--resume",
        help="Continue the last unfinished apply of this plan: centres that hold its desired "
        "state are skipped, the others run.",
    ),
]
BwLimit = Annotated[
    str | None,
    typer.Option(
        help="At most this rate (e.g. 4mbit, 512kbit) on each server's link, and in all on "
        "a hub's link and on the link a hub shares with its centres.",
        show_default=False,
    ),
]


def apply(
    plan: Annotated[Path, typer.Argument(help="Plan file (JSON).", show_default=False)],
    inventory: Inventory = None,
    limit: Limit = None,
    check: Check = False,
    max_fail_percent: MaxFail = 0.0,
    force: Force = False,
    resume: Resume = False,
    catalog: CatalogDir = None,
    trusted_key: TrustedKeys = None,
    vault_password_file: VaultPasswordFile = None,
    kit: KitDir = None,
    via: Via = None,
    bwlimit: BwLimit = None,
    json: Json = False,
) -> None:
    """Provision the plan's servers and load their bundles, wave by wave (wave 1 first).

    Ctrl-C or SIGTERM stops Ansible (after its current step, or killed 10 s later), records
    where each centre stood and exits 130; --resume then finishes the run.
    """
    need_inventory(via, inventory)
    limit_bits = parse_rate(bwlimit, "--bwlimit") if bwlimit is not None else None
    loaded = load_plan(plan)
    report_apply(
        lambda: run_apply(
            loaded,
            secrets=resolve_secrets(loaded.secrets, plan.parent, vault_password_file),
            catalog=catalog_path(catalog),
            inventory=inventory,
            limit=set(limit.split(",")) if limit else None,
            check=check,
            max_fail_percent=max_fail_percent,
            force=force,
            resume=resume,
            trusted_key=trusted_key,
            quiet=json,
            kit=(kit, plan) if kit else None,
            via=via,
            bwlimit=limit_bits,
        ),
        json,
    )


def report_apply(
    run: Callable[[], ApplyResult], json: bool, more: dict[str, Any] | None = None
) -> None:
    """Run an apply (or rollback) and show its result, with `more` keys in the JSON; an
    interrupted one shows where it stood and exits 130, a failed one exits 1."""
    try:
        result = run()
    except RunInterruptedError as stop:
        if stop.result is not None:
            if json:
                print_json(result_document(stop.result) | (more or {}))
            else:
                show_result(stop.result)
        err.print(f"error: {stop}")
        raise typer.Exit(RC.INTERRUPTED) from None
    if json:
        print_json(result_document(result) | (more or {}))
    else:
        show_result(result)
    if not result.ok:
        raise typer.Exit(RC.FAILED)


def run_apply(
    plan: Plan,
    *,
    catalog: Path,
    inventory: Path | None,
    limit: set[str] | None = None,
    check: bool = False,
    max_fail_percent: float = 0.0,
    force: bool = False,
    resume: bool = False,
    trusted_key: list[Path] | None = None,
    quiet: bool = False,
    secrets: dict[str, str] | None = None,
    kit: tuple[Path, Path] | None = None,
    via: str | None = None,
    rollback_to: int | None = None,
    bwlimit: int | None = None,
) -> ApplyResult:
    """One apply, as `apply` and `rehearse` run it: one at a time per journal. With `kit`
    (its folder, and the plan file given), everything comes from the verified kit."""
    with _signals_stop():
        keys = trusted_key if trusted_key is not None else sorted(trusted_keys_dir().glob("*.pub"))
        trusted = [load_public_key(k) for k in keys]
        home = state_dir()
        arches: set[str] = {centre.arch for centre in plan.centres}
        if kit is not None:
            repos, catalog, playbooks = open_kit(*kit, trusted, arches)
        else:
            repos, playbooks = package_repos(home / "packages", CACHE, arches), playbooks_dir()
        rollout = Rollout(
            plan=plan,
            catalog=load_catalog(catalog),
            repos=repos,
            playbook=playbooks / "site.yml",
            workdir=home / "runs" / time.strftime("%Y%m%d-%H%M%S"),
            cache=home / "cache",
            inventory=inventory,
            limit=limit,
            check=check,
            max_fail_percent=max_fail_percent,
            force=force,
            resume=resume,
            trusted_keys=tuple(trusted),
            secrets=secrets or {},
            via=via,
            rollback_to=rollback_to,
            bwlimit=bwlimit,
        )
        lock = RunLock(home / "apply.lock")
        for said in lock.acquire(plan.profile.name, rollout.workdir):
            err.print(said)
        journal = Journal(home / "journal.sqlite")
        try:
            for run_id in journal.close_abandoned(APPLIED):
                err.print(f"run {run_id} never finished (lpdeploy was killed): marked killed")
            return apply_plan(rollout, journal, progress_for(quiet), watch=lock)
        finally:
            journal.close()
            lock.release()


def progress_for(quiet: bool) -> Progress:
    """The live view on a terminal; plain lines in a log or a pipe (with --json too: stdout
    holds the document, stderr the lines); none for a caller that shows its own."""
    if err.is_terminal:
        return QuietProgress() if quiet else LiveProgress(err)
    return PlainProgress()


@contextlib.contextmanager
def _signals_stop() -> Iterator[None]:
    """Ctrl-C and SIGTERM both stop an apply cleanly from its first step (the package
    repository alone can take seconds), even where the shell started lpdeploy with SIGINT
    ignored (a background job of a script): `kill -INT` is documented to work."""
    previous = {sig: signal.signal(sig, _interrupt) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _interrupt(signum: int, frame: object) -> None:
    """SIGINT and SIGTERM stop an apply the same way."""
    raise KeyboardInterrupt


def result_document(result: ApplyResult) -> dict[str, Any]:
    return {
        "ok": result.ok,
        "run_id": result.run_id,
        "changed": result.changed,
        "stopped": result.stopped,
        "resumes": result.resumes,
        "centres": [vars(c) for c in result.centres],
        **({"via": result.via} if result.via else {}),
        **({"sent_to_hub": result.sent_to_hub, "hubs": result.hubs} if result.hubs else {}),
    }
