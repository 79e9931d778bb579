"""Rendering of the usage report: a table, CSV, and one HTML page with charts (SVG drawn
by matplotlib and written into the page, so it opens offline, alone)."""

from __future__ import annotations

import csv
import html
import io

from rich.table import Table

from lpdeploy.errors import MissingToolError
from lpdeploy.ui.console import out
from lpdeploy.ui.tables import identity_column
from lpdeploy.usage.report import Count, UsageReport

COLUMNS = ("learners", "started", "completed", "requests", "devices", "seconds")
TITLES = {
    "learners": "learner-days", "started": "started", "completed": "completed",
    "requests": "page requests", "devices": "device-days", "seconds": "time spent (s)",
}  # fmt: skip


def _period(report: UsageReport) -> str:
    start = report.start.isoformat() if report.start else "the first day"
    end = report.end.isoformat() if report.end else "the last day"
    return f"{start} to {end}"


def show_report(report: UsageReport) -> None:
    table = Table(title=f"by {report.by}, {_period(report)}")
    identity_column(table, report.by, (line.group for line in report.groups))
    for column in COLUMNS:
        table.add_column(TITLES[column], justify="right")
    for line in report.groups:
        table.add_row(line.group, *(str(getattr(line, c)) for c in COLUMNS))
    out.print(table)
    out.print(
        f"{report.centres} centres, {len(report.days)} days; counts below "
        f"{report.threshold} shown as <{report.threshold}"
    )


def report_csv(report: UsageReport) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([report.by, *COLUMNS])
    for line in report.groups:
        writer.writerow([line.group, *(getattr(line, c) for c in COLUMNS)])
    return buffer.getvalue()


def _number(value: Count) -> float:
    """Suppressed counts are drawn as zero (the table beside the chart says "<5")."""
    return float(value) if isinstance(value, int) else 0.0


def _svg(draw: str, report: UsageReport) -> str:
    try:
        import matplotlib
    except ImportError:
        raise MissingToolError(
            "the HTML report's charts need matplotlib: pip install 'lpdeploy[report]'"
        ) from None

    matplotlib.use("Agg")
    from matplotlib import pyplot

    figure, axes = pyplot.subplots(figsize=(7, 3), dpi=96)
    try:
        if draw == "days":
            days = [d.day.isoformat() for d in report.days]
            axes.plot(days, [_number(d.requests) for d in report.days], label="page requests")
            axes.plot(days, [_number(d.learners) for d in report.days], label="learner-days")
            axes.plot(days, [_number(d.completed) for d in report.days], label="completed")
            axes.legend(loc="upper left", fontsize=8)
            figure.autofmt_xdate()
        else:
            groups = [line.group for line in report.groups]
            axes.barh(groups, [_number(line.completed) for line in report.groups],
                      color="#1e6fb8")  # fmt: skip
            axes.set_xlabel("resources completed")
            axes.invert_yaxis()
        figure.tight_layout()
        buffer = io.StringIO()
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    finally:
        pyplot.close(figure)
    text = buffer.getvalue()
    return text[text.index("<svg") :]


def report_html(report: UsageReport) -> str:
    """One self-contained page: the charts are inline SVG, no script, no link out."""
    head = "".join(f"<th>{html.escape(TITLES[c])}</th>" for c in COLUMNS)
    rows = "".join(
        f"<tr><th scope=row>{html.escape(line.group)}</th>"
        + "".join(f"<td>{html.escape(str(getattr(line, c)))}</td>" for c in COLUMNS)
        + "</tr>"
        for line in report.groups
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Learning outcomes by {html.escape(report.by)}</title>
<style>body{{font-family:sans-serif;max-width:60em;margin:auto;padding:1em}}
table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:.3em .6em;text-align:right}}
th[scope=row]{{text-align:left}}svg{{max-width:100%;height:auto}}</style></head>
<body>
<h1>Learning outcomes by {html.escape(report.by)}</h1>
<p>{html.escape(_period(report))}: {report.centres} centres. Counts below {report.threshold}
are shown as &lt;{report.threshold}. Learner-days and device-days add up each day's
distinct learners and devices; no one is followed across days.</p>
<table id="groups"><tr><th>{html.escape(report.by)}</th>{head}</tr>{rows}</table>
<h2>Per day</h2>
<figure id="days">{_svg("days", report)}</figure>
<h2>Completed, by {html.escape(report.by)}</h2>
<figure id="completed">{_svg("groups", report)}</figure>
</body></html>
"""
