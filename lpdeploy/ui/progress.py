"""Live progress of a rollout on stderr, drawn from the main thread with Rich."""

from __future__ import annotations

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from lpdeploy.apply.rollout import ApplyResult
from lpdeploy.journal import CentreRecord
from lpdeploy.runner.reduce import RunState
from lpdeploy.ui.console import out, size
from lpdeploy.ui.tables import identity_column

MAX_ROWS = 15
STYLES = {"ok": "green", "changed": "yellow", "failed": "red", "unreachable": "red", "pending": ""}


class LiveProgress:
    """Per-state counts, and the current task of each host (the first MAX_ROWS hosts)."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.live: Live | None = None
        self.wave = 0
        self.hosts: list[str] = []

    def wave_started(self, wave: int, hosts: list[str]) -> None:
        self.wave, self.hosts = wave, hosts
        self.live = Live(self._render(RunState()), console=self.console, refresh_per_second=4)
        self.live.start()

    def update(self, state: RunState) -> None:
        if self.live is not None:
            self.live.update(self._render(state))

    def wave_finished(self, wave: int, state: RunState) -> None:
        if self.live is not None:
            self.live.update(self._render(state))
            self.live.stop()
            self.live = None

    def _render(self, state: RunState) -> Group:
        counts = {"ok": 0, "changed": 0, "failed": 0, "unreachable": 0}
        for host_progress in state.hosts.values():
            if host_progress.outcome in counts:
                counts[host_progress.outcome] += 1
        done = sum(counts.values()) if state.complete else 0
        header = Text(
            f"wave {self.wave}: {len(self.hosts)} centres, {state.tasks_started} tasks started  "
        )
        for name, count in counts.items():
            header.append(f"{name} {count}  ", style=STYLES[name])
        if state.complete:
            header.append(f"done {done}/{len(self.hosts)}")
        table = Table(box=None, padding=(0, 1))
        identity_column(table, "centre", self.hosts[:MAX_ROWS])
        for column in ("task", "ok", "changed", "state"):
            table.add_column(column)
        for host in self.hosts[:MAX_ROWS]:
            progress = state.hosts.get(host)
            if progress is None:
                table.add_row(host, "waiting", "", "", "")
                continue
            style = STYLES.get(progress.outcome, "")
            table.add_row(host, progress.task[:50], str(progress.ok), str(progress.changed),
                          Text(progress.outcome, style=style))  # fmt: skip
        if len(self.hosts) > MAX_ROWS:
            table.add_row(f"... {len(self.hosts) - MAX_ROWS} more", "", "", "", "")
        return Group(header, table)


class QuietProgress:
    def wave_started(self, wave: int, hosts: list[str]) -> None:
        return None

    def update(self, state: RunState) -> None:
        return None

    def wave_finished(self, wave: int, state: RunState) -> None:
        return None


def show_result(result: ApplyResult) -> None:
    table = Table("wave")
    identity_column(table, "centre", (c.centre for c in result.centres))
    for header in ("outcome", "changed", "message"):
        table.add_column(header)
    for centre in result.centres:
        style = STYLES.get(centre.outcome, "red")
        table.add_row(str(centre.wave), centre.centre, Text(centre.outcome, style=style),
                      str(centre.changed), centre.message[:80])  # fmt: skip
    out.print(table)
    applied = sum(1 for c in result.centres if c.outcome in ("ok", "changed"))
    total = len(result.centres)
    through = (
        f", through hub {result.via} ({size(result.sent_to_hub)} sent to it)" if result.via else ""
    )
    changes = f"{result.changed} changes{through}"
    out.print(f"{applied}/{total} centres applied, {changes} (run {result.run_id})")
    if result.stopped:
        out.print(Text(f"rollout stopped: {result.stopped}", style="red"))


def show_status(
    centres: list[str], applied: dict[str, CentreRecord], verified: dict[str, CentreRecord]
) -> None:
    table = Table()
    identity_column(table, "centre", centres)
    for header in ("last apply", "run", "last verify", "run"):
        table.add_column(header)
    for centre in centres:
        a, v = applied.get(centre), verified.get(centre)
        rolled_back = f" (rollback to run {a.rollback_to})" if a and a.kind == "rollback" else ""
        table.add_row(
            centre,
            a.outcome + rolled_back if a else "-",
            str(a.run_id) if a else "",
            v.outcome if v else "-",
            str(v.run_id) if v else "",
        )
    out.print(table)
