"""Live progress of a rollout on stderr, drawn from the main thread with Rich."""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from lpdeploy.apply.pushes import Push, transfer
from lpdeploy.apply.rollout import ApplyResult, WaveView
from lpdeploy.journal import CentreRecord
from lpdeploy.ui.console import out, size
from lpdeploy.ui.tables import identity_column

MAX_ROWS = 12
"""Routes (hubs) shown one per row; beyond, one row counts the rest."""
NAMED = 5
"""Slowest and failed centres named, each."""
STYLES = {"ok": "green", "changed": "yellow", "failed": "red", "unreachable": "red", "pending": ""}
RESULT_ROWS = 40
"""Beyond this many centres the result is counted, and only those not applied listed."""
COUNTED = ("done", "running", "changed", "failed")
PLAIN_EVERY = 30.0
"""Seconds between two plain lines on a wave's bundle pushes."""


@dataclass
class Tally:
    centres: int = 0
    done: int = 0
    running: int = 0
    changed: int = 0
    failed: int = 0


def tally(view: WaveView) -> dict[str, Tally]:
    """Per route ("direct" for this machine's own centres), what the wave's centres did."""
    routes: dict[str, Tally] = {}
    for result in view.settled:
        count = routes.setdefault(result.hub or "direct", Tally())
        count.centres += 1
        count.done += 1
        count.failed += result.outcome not in ("ok", "changed")
    for name, hub in view.hub_of.items():
        count = routes.setdefault(hub or "direct", Tally())
        count.centres += 1
        progress = view.host(name)
        if name not in view.finished:
            count.running += 1
            continue
        count.done += 1
        outcome = progress.outcome if progress else "failed"
        count.changed += outcome == "changed"
        count.failed += outcome in ("failed", "unreachable")
    return dict(sorted(routes.items(), key=lambda item: (item[0] != "direct", _natural(item[0]))))


def _natural(name: str) -> list[tuple[int, str]]:
    """hub-2 before hub-10."""
    return [(int(part), "") if part.isdigit() else (-1, part) for part in re.split(r"(\d+)", name)]


def bits(rate: int) -> str:
    """Bytes a second as a link's rate: '6.5 Mbit/s'."""
    value = float(rate * 8)
    for unit in ("bit/s", "kbit/s", "Mbit/s"):
        if value < 1000:
            return f"{value:.0f} {unit}" if unit == "bit/s" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} Gbit/s"


def left(seconds: float | None) -> str:
    if seconds is None:
        return "time left not known yet"
    if seconds >= 90:
        return f"about {seconds / 60:.0f} min left"
    return f"about {seconds:.0f} s left"


def pushing(push: Push) -> str:
    """One centre's push: 'pushing 20.8 of 54.0 MB, 6.5 Mbit/s, about 41 s left'."""
    return (f"pushing {size(push.done)} of {size(push.total)}, {bits(push.rate)}, "
            f"{left(push.seconds_left())}")  # fmt: skip


def bundles(view: WaveView) -> str | None:
    """The wave's pushes together, or None when none has started."""
    moved = transfer(view.pushes, view.finished)
    if moved is None:
        return None
    text = f"bundles: {size(moved.done)} of {size(moved.total)}"
    if moved.running:
        text += f", {bits(moved.rate)}, {left(moved.seconds_left)} ({moved.running} pushing)"
    return text


def eta(view: WaveView, now: float) -> str:
    """The wave's rate of finished centres and what it predicts for the rest."""
    done, left = len(view.finished), len(view.hub_of) - len(view.finished)
    took = now - view.started
    if not done or not left:
        return f"{took:.0f} s"
    rate = done / took
    return f"{took:.0f} s, {rate * 60:.1f} centres/min, about {left / rate:.0f} s left"


class LiveProgress:
    """One screen whatever the size of the wave: counts per hub, the centres that take
    longest and those that failed, by name; rates and an ETA."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.live: Live | None = None

    def wave_started(self, view: WaveView) -> None:
        self.live = Live(self.render(view), console=self.console, refresh_per_second=4)
        self.live.start()

    def update(self, view: WaveView) -> None:
        if self.live is not None:
            self.live.update(self.render(view))

    def wave_finished(self, view: WaveView) -> None:
        if self.live is not None:
            self.live.update(self.render(view))
            self.live.stop()
            self.live = None

    def render(self, view: WaveView, now: float | None = None) -> Group:
        now = time.time() if now is None else now
        routes = tally(view)
        total = sum(t.centres for t in routes.values())
        header = Text(f"wave {view.wave}: {total} centres, {eta(view, now)}")
        table = Table(box=None, padding=(0, 1))
        table.add_column("route")
        table.add_column("centres", justify="right")
        for column in COUNTED:
            table.add_column(column, justify="right", style=STYLES.get(column, ""))
        shown = list(routes.items())
        rest = shown[MAX_ROWS:]
        for name, count in shown[:MAX_ROWS]:
            table.add_row(name, str(count.centres), *(str(getattr(count, c)) for c in COUNTED))
        if rest:
            summed = Tally(*(sum(getattr(t, f) for _, t in rest) for f in ("centres", *COUNTED)))
            table.add_row(f"{len(rest)} more hubs", str(summed.centres),
                          *(str(getattr(summed, c)) for c in COUNTED))  # fmt: skip
        parts: list[Text | Table] = [header]
        moved = bundles(view)
        if moved:
            parts.append(Text(moved))
        parts.append(table)
        running = [h for h in view.hub_of if h not in view.finished]
        if running:
            slowest = sorted(running, key=lambda h: (_steps(view, h), h))[:NAMED]
            named = ", ".join(f"{h} ({_task(view, h)})" for h in slowest)
            parts.append(Text(f"slowest: {named}", no_wrap=True, overflow="ellipsis"))
        failed = _failed(view)
        if failed:
            parts.append(Text(f"failed ({len(failed)}):", style="red"))
            for centre, message in failed[:NAMED]:
                parts.append(Text(f"  {centre}: {' '.join(message.split())}", no_wrap=True,
                                  overflow="ellipsis"))  # fmt: skip
            if len(failed) > NAMED:
                parts.append(Text(f"  and {len(failed) - NAMED} more"))
        return Group(*parts)


class PlainProgress:
    """For a log or a script (stderr not a terminal): one line per centre when it
    finishes, one per wave; nothing redrawn, nothing cut."""

    def __init__(self, write: Callable[[str], object] | None = None) -> None:
        self.write = write or (lambda text: sys.stderr.write(text))
        self.said: set[str] = set()
        self.pushes_said = 0.0

    def wave_started(self, view: WaveView) -> None:
        routes = tally(view)
        where = ", ".join(f"{name} {t.centres}" for name, t in routes.items())
        self._line(f"wave {view.wave} started: {len(view.hub_of) + len(view.settled)} "
                   f"centres ({where})")  # fmt: skip
        for result in view.settled:
            self._centre(result.centre, result.hub, result.outcome, result.changed,
                         result.message)  # fmt: skip

    def update(self, view: WaveView) -> None:
        for name in view.finished:
            if name not in self.said:
                progress = view.host(name)
                outcome = progress.outcome if progress else "not-run"
                if outcome == "pending":
                    outcome = "ok"
                changed = progress.changed if progress else 0
                message = progress.message if progress else ""
                sent = progress.bundle_bytes if progress else 0
                self._centre(name, view.hub_of[name], outcome, changed, message, sent)
        moved = transfer(view.pushes, view.finished)
        now = time.monotonic()
        due = now - self.pushes_said >= PLAIN_EVERY
        if moved and moved.running and moved.seconds_left is not None and due:
            self.pushes_said = now
            self._line(f"wave {view.wave} {bundles(view)}")

    def wave_finished(self, view: WaveView) -> None:
        self.update(view)
        for name in view.hub_of:
            if name not in self.said:
                progress = view.host(name)
                task = progress.task if progress else ""
                self._centre(name, view.hub_of[name], "incomplete", 0, f"at task: {task}")
        routes = tally(view)
        counts = {c: sum(getattr(t, c) for t in routes.values()) for c in COUNTED}
        self._line(f"wave {view.wave} done: {counts['done']} centres, "
                   f"{counts['changed']} changed, {counts['failed']} failed, "
                   f"in {time.time() - view.started:.0f} s")  # fmt: skip

    def _centre(
        self, name: str, hub: str | None, outcome: str, changed: int, message: str, sent: int = 0
    ) -> None:
        self.said.add(name)
        text = " ".join(message.split())
        bytes_sent = f", {size(sent)} of bundles sent" if sent else ""
        self._line(f"{name} {hub or 'direct'} {outcome} {changed} changes{bytes_sent}"
                   f"{' ' + text if text else ''}")  # fmt: skip

    def _line(self, text: str) -> None:
        self.write(f"{time.strftime('%H:%M:%S')} {text}\n")


def _steps(view: WaveView, host: str) -> int:
    progress = view.host(host)
    return progress.ok + progress.changed + progress.skipped if progress else 0


def _task(view: WaveView, host: str) -> str:
    push = view.pushes.get(host)
    if push is not None and not push.finished:
        return pushing(push)
    progress = view.host(host)
    return (progress.task or "starting")[:40] if progress else "waiting"


def _failed(view: WaveView) -> list[tuple[str, str]]:
    failed = [(r.centre, r.message) for r in view.settled if r.outcome not in ("ok", "changed")]
    for name in view.hub_of:
        progress = view.host(name)
        if progress is not None and progress.outcome in ("failed", "unreachable"):
            failed.append((name, progress.message))
    return failed


class QuietProgress:
    def wave_started(self, view: WaveView) -> None:
        return None

    def update(self, view: WaveView) -> None:
        return None

    def wave_finished(self, view: WaveView) -> None:
        return None


def show_result(result: ApplyResult) -> None:
    """Every centre when they fit a screen; beyond, counts per wave and hub and the centres
    that did not apply, by name (`--json` always lists every centre)."""
    shown = result.centres
    if len(shown) > RESULT_ROWS:
        _counts(result)
        shown = [c for c in result.centres if c.outcome not in ("ok", "changed")][:RESULT_ROWS]
    hubs = any(c.hub for c in result.centres)
    if shown:
        table = Table("wave")
        identity_column(table, "centre", (c.centre for c in shown))
        if hubs:
            identity_column(table, "hub", (c.hub or "direct" for c in shown))
        for header in ("outcome", "changed", "message"):
            table.add_column(header)
        for centre in shown:
            style = STYLES.get(centre.outcome, "red")
            table.add_row(str(centre.wave), centre.centre,
                          *([centre.hub or "direct"] if hubs else []),
                          Text(centre.outcome, style=style), str(centre.changed),
                          centre.message[:80])  # fmt: skip
        out.print(table)
    applied = sum(1 for c in result.centres if c.outcome in ("ok", "changed"))
    total = len(result.centres)
    through = ""
    if result.hubs:
        sent = ", ".join(f"{size(n)} to {hub}" for hub, n in result.hubs.items())
        through = f", through {'hub' if len(result.hubs) == 1 else 'hubs'} ({sent})"
    changes = f"{result.changed} changes{through}"
    out.print(f"{applied}/{total} centres applied, {changes} (run {result.run_id})")
    if result.stopped:
        out.print(Text(f"rollout stopped: {result.stopped}", style="red"))


def _counts(result: ApplyResult) -> None:
    table = Table("wave", "route", "centres", "ok", "changed", "not applied")
    groups: dict[tuple[int, str], list[str]] = {}
    for centre in result.centres:
        groups.setdefault((centre.wave, centre.hub or "direct"), []).append(centre.outcome)
    for (wave, route), outcomes in sorted(groups.items()):
        table.add_row(str(wave), route, str(len(outcomes)), str(outcomes.count("ok")),
                      str(outcomes.count("changed")),
                      str(sum(o not in ("ok", "changed") for o in outcomes)))  # fmt: skip
    out.print(table)


def show_status(
    centres: list[str], applied: dict[str, CentreRecord], verified: dict[str, CentreRecord]
) -> None:
    table = Table()
    identity_column(table, "centre", centres)
    hubs = any(record.hub for record in applied.values())
    for header in ("last apply", "run", *(["hub"] if hubs else []), "last verify", "run"):
        table.add_column(header)
    for centre in centres:
        a, v = applied.get(centre), verified.get(centre)
        rolled_back = f" (rollback to run {a.rollback_to})" if a and a.kind == "rollback" else ""
        table.add_row(
            centre,
            a.outcome + rolled_back if a else "-",
            str(a.run_id) if a else "",
            *([(a.hub or "") if a else ""] if hubs else []),
            v.outcome if v else "-",
            str(v.run_id) if v else "",
        )
    out.print(table)
