"""The numbers programmes are steered on, per group and per day, from the store.

Counts of people and what they did that are above zero and below the threshold (5 by
default) are shown as "<5" wherever they appear: a group or a day that small could single
out a learner. Daily figures add up over a period: `learners` is learner-days (distinct
learners per day, summed), `devices` device-days; the store never holds who they were, so
nothing counts the same person across days.
"""

from __future__ import annotations

import datetime
import sqlite3
from typing import Literal

from pydantic import BaseModel

from lpdeploy.usage.store import METRICS

Dimension = Literal["country", "region", "centre", "language", "subject", "bundle"]
DIMENSIONS: tuple[Dimension, ...] = ("country", "region", "centre", "language", "subject",
                                     "bundle")  # fmt: skip
THRESHOLD = 5
Count = int | str
"""A count, or "<5" when it is suppressed."""


class Line(BaseModel):
    group: str
    requests: Count
    devices: Count
    learners: Count
    started: Count
    completed: Count
    seconds: Count


class Day(BaseModel):
    day: datetime.date
    requests: Count
    learners: Count
    completed: Count


class UsageReport(BaseModel):
    schema_version: int = 1
    by: Dimension
    start: datetime.date | None
    end: datetime.date | None
    threshold: int
    centres: int
    groups: list[Line]
    days: list[Day]


def _group_sql(by: Dimension) -> tuple[str, str]:
    """The group's expression, and the join that gives it."""
    if by in ("country", "region"):
        return f"c.{by}", "JOIN centres c ON c.centre = r.centre"
    if by in ("language", "subject"):
        join = f"JOIN facets f ON f.centre = r.centre AND f.bundle = r.bundle AND f.facet = '{by}'"
        return "f.value", join
    return f"r.{by}", ""


def suppress(value: int, threshold: int) -> Count:
    return f"<{threshold}" if 0 < value < threshold else value


def build_report(
    db: sqlite3.Connection,
    by: Dimension,
    start: datetime.date | None = None,
    end: datetime.date | None = None,
    threshold: int = THRESHOLD,
) -> UsageReport:
    where, args = "WHERE 1=1", list[str]()
    if start is not None:
        where, args = where + " AND r.day >= ?", [*args, start.isoformat()]
    if end is not None:
        where, args = where + " AND r.day <= ?", [*args, end.isoformat()]
    expression, join = _group_sql(by)
    sums = ", ".join(f"SUM(r.{m})" for m in METRICS)
    groups = []
    query = f"SELECT {expression}, {sums} FROM rows r {join} {where} GROUP BY 1 ORDER BY 1"
    for group, *values in db.execute(query, args):
        counts = {m: suppress(int(v or 0), threshold) for m, v in zip(METRICS, values, strict=True)}
        if isinstance(counts["learners"], str) or isinstance(counts["devices"], str):
            counts["seconds"] = f"<{threshold}"  # time spent by one or two people is theirs
        groups.append(Line(group=str(group or "(none)"), **counts))
    days = []
    query = (
        f"SELECT r.day, SUM(r.requests), SUM(r.learners), SUM(r.completed) FROM rows r "
        f"{where} GROUP BY 1 ORDER BY 1"
    )
    for day, requests, learners, completed in db.execute(query, args):
        days.append(
            Day(
                day=datetime.date.fromisoformat(day),
                requests=suppress(requests, threshold),
                learners=suppress(learners, threshold),
                completed=suppress(completed, threshold),
            )
        )
    centres = db.execute(f"SELECT COUNT(DISTINCT r.centre) FROM rows r {where}", args).fetchone()
    return UsageReport(
        by=by, start=start, end=end, threshold=threshold, centres=int(centres[0]),
        groups=groups, days=days,
    )  # fmt: skip
