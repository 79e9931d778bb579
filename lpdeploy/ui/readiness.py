"""Rendering of the readiness report: a table on the terminal, one HTML file."""

from __future__ import annotations

import html

from rich.table import Table
from rich.text import Text

from lpdeploy.readiness.report import CHECK_ORDER, CheckResult, ReadinessReport
from lpdeploy.ui.console import out
from lpdeploy.ui.tables import fits, identity_column


def show_report(report: ReadinessReport, verdict: str = "ready") -> None:
    """One row per centre, a column per check; where the check columns do not fit, one
    column names the failing checks (the details follow the table, and are in --json)."""
    table = _check_table(report, collapsed=False)
    if not fits(table, out):
        table = _check_table(report, collapsed=True)
    out.print(table)
    for centre in report.centres:
        for check in centre.checks:
            if not check.ok:
                out.print(Text(f"  {centre.id} {check.name}: {check.detail}", style="red"))
    ready = sum(1 for c in report.centres if c.ready)
    out.print(f"{ready}/{len(report.centres)} centres {verdict}")


def _check_table(report: ReadinessReport, collapsed: bool) -> Table:
    names = [n for n in CHECK_ORDER if any(c.name == n for r in report.centres for c in r.checks)]
    names += sorted({c.name for r in report.centres for c in r.checks} - set(names))
    table = Table()
    identity_column(table, "centre", (c.id for c in report.centres))
    table.add_column("ready")
    for name in ["checks"] if collapsed else names:
        table.add_column(name)
    for centre in report.centres:
        ready = Text("yes" if centre.ready else "NO", style="green" if centre.ready else "red")
        if collapsed:
            table.add_row(centre.id, ready, _summary(centre.checks))
        else:
            by_name = {c.name: c for c in centre.checks}
            table.add_row(centre.id, ready, *(_cell(by_name.get(name)) for name in names))
    return table


def _summary(checks: list[CheckResult]) -> Text:
    failing = [c.name for c in checks if not c.ok]
    if failing:
        return Text(", ".join(failing), style="red")
    return Text(f"all {len(checks)} ok", style="green")


def _cell(check: CheckResult | None) -> Text:
    if check is None:
        return Text("-")
    return Text("ok", style="green") if check.ok else Text("FAIL", style="red")


STYLE = """
body{font-family:system-ui,sans-serif;margin:0;padding:1rem;background:#f5f7fa;color:#123}
h1{font-size:1.4rem}.summary{font-size:1.1rem;margin-bottom:1rem}
.card{background:#fff;border-radius:.6rem;padding:.8rem 1rem;margin:.7rem 0;
border-left:.5rem solid #2a8a3e}
.card.not{border-left-color:#c0392b}.card h2{font-size:1.15rem;margin:.2rem 0}
ul{padding-left:1.1rem;margin:.3rem 0}li.fail{color:#c0392b;font-weight:600}li.ok{color:#2a6a3e}
small{color:#556}
"""


def report_html(report: ReadinessReport) -> str:
    """One self-contained page (no external assets), readable on a phone, failing first."""
    ready = sum(1 for c in report.centres if c.ready)
    cards = []
    for centre in sorted(report.centres, key=lambda c: (c.ready, c.id)):
        checks = sorted(centre.checks, key=lambda c: c.ok)
        items = "".join(
            f'<li class="{"ok" if c.ok else "fail"}">'
            f"{html.escape(c.name)}: {html.escape(c.detail)}</li>"
            for c in checks
        )
        state = "ready" if centre.ready else "NOT READY"
        kind = "card" if centre.ready else "card not"
        cards.append(
            f'<section class="{kind}"><h2>{html.escape(centre.id)}: {state}</h2>'
            f"<small>{html.escape(centre.host)}</small><ul>{items}</ul></section>"
        )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>Readiness: {html.escape(report.plan)}</title><style>{STYLE}</style></head><body>"
        f"<h1>Readiness of {html.escape(report.plan)}</h1>"
        f'<p class="summary">{ready} of {len(report.centres)} centres ready</p>'
        + "".join(cards)
        + "</body></html>\n"
    )
