"""Learning outcomes: the server's collector, the store's merge, the report's suppression,
and exports refused when damaged."""

from __future__ import annotations

import datetime
import hashlib
import itertools
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lpdeploy.usage.exchange import (
    RefusedExportError,
    check_export,
    load_files,
    read_export,
    write_export,
)
from lpdeploy.usage.model import BundleInfo, Context, Row, UsageFile
from lpdeploy.usage.report import build_report
from lpdeploy.usage.store import dump, dump_files, merge, open_store

COLLECTOR = Path(__file__).parents[2] / "playbooks" / "roles" / "usage" / "files" / "lpdeploy-usage"
DAY1 = datetime.datetime(2026, 11, 30, 10, 0, tzinfo=datetime.UTC).timestamp()
DAY2 = DAY1 + 86400
CHANNEL = "2a4c6e8f0b1d3f5a7c9e1b3d5f7a9c0e"


class Server:
    """The collector run as on a server: its config, state and nginx log in a folder."""

    def __init__(self, root: Path, kolibri_db: str = "", zone: str = "UTC") -> None:
        self.root = root
        self.zone = zone
        self.log = root / "usage.log"
        config = {
            "centre": "c1", "log": str(self.log), "kolibri_db": kolibri_db,
            "zims": {"lpdeploy_first-letters_en": "first-letters-en"},
            "channels": {CHANNEL: "hisabati-sw"},
            "context": {"country": "KE", "region": "Kakuma", "languages": ["sw", "en"],
                        "bundles": {"hisabati-sw": {"languages": ["sw"],
                                                    "subjects": ["numeracy"]}}},
        }  # fmt: skip
        (root / "usage.json").write_text(json.dumps(config))

    def request(self, moment: float, address: str, path: str, status: int = 200) -> None:
        with self.log.open("a") as handle:
            handle.write(f"{moment:.3f} {address} {status} {path}\n")

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "TZ": self.zone,
               "LPDEPLOY_USAGE_CONFIG": str(self.root / "usage.json"),
               "LPDEPLOY_USAGE_STATE": str(self.root / "state")}  # fmt: skip
        return subprocess.run([sys.executable, str(COLLECTOR), *args], capture_output=True,
                              text=True, env=env, check=True)  # fmt: skip

    def collect(self) -> UsageFile:
        return UsageFile.model_validate_json(self.run("collect").stdout)


def web(usage: UsageFile) -> dict[tuple[str, str], tuple[int, int]]:
    return {
        (r.day.isoformat(), r.bundle): (r.requests, r.devices)
        for r in usage.rows
        if r.source == "web"
    }


def test_requests_and_devices_per_day_and_bundle(tmp_path: Path) -> None:
    server = Server(tmp_path)
    for n in range(6):
        server.request(
            DAY1 + n, f"10.42.0.{10 + n % 3}", "/courses/abetka-uk/current/content/a.html"
        )
    server.request(DAY1 + 9, "10.42.0.10", "/")
    server.request(DAY1 + 9, "10.42.0.10", "/kiwix/lpdeploy_first-letters_en/A/index.html")
    server.request(DAY1 + 9, "10.42.0.10", "/courses/abetka-uk/current/content/gone.html", 404)
    server.request(DAY1 + 9, "10.42.0.10", "/kolibri/api/public/v1/channels")
    server.request(DAY2, "10.42.0.99", "/courses/abetka-uk/current/content/a.html")
    usage = server.collect()
    assert web(usage) == {
        ("2026-11-30", "abetka-uk"): (6, 3),
        ("2026-11-30", "portal"): (1, 1),
        ("2026-11-30", "first-letters-en"): (1, 1),
        ("2026-12-01", "abetka-uk"): (1, 1),
    }
    assert usage.centre == "c1" and usage.context.country == "KE"
    text = (tmp_path / "state" / "usage.json").read_text()
    assert "10.42.0" not in text and "10.42.0" not in server.run("collect").stdout


def test_a_rotation_loses_and_doubles_nothing(tmp_path: Path) -> None:
    server = Server(tmp_path)
    for n in range(3):
        server.request(DAY1 + n, "10.42.0.10", "/")
    assert web(server.collect())[("2026-11-30", "portal")] == (3, 1)
    server.request(DAY1 + 5, "10.42.0.11", "/")  # written after the collection, before the turn
    server.log.rename(tmp_path / "usage.log.1")  # logrotate, then nginx reopens
    server.request(DAY1 + 6, "10.42.0.12", "/")
    server.request(DAY1 + 7, "10.42.0.12", "/")
    assert web(server.collect())[("2026-11-30", "portal")] == (6, 3)
    assert web(server.collect())[("2026-11-30", "portal")] == (6, 3)  # again: no change


def test_a_line_being_written_waits_for_the_next_run(tmp_path: Path) -> None:
    server = Server(tmp_path)
    server.request(DAY1, "10.42.0.10", "/")
    with server.log.open("a") as handle:
        handle.write(f"{DAY1 + 1:.3f} 10.42.0.10 200 /")
    assert web(server.collect())[("2026-11-30", "portal")] == (1, 1)
    with server.log.open("a") as handle:
        handle.write("\n")
    assert web(server.collect())[("2026-11-30", "portal")] == (2, 1)


def kolibri_db(path: Path, sessions: list[tuple[str, str, str, float]],
               summaries: list[tuple[str, str, str | None]]) -> None:  # fmt: skip
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE logger_contentsessionlog (user_id, content_id, channel_id, "
                   "start_timestamp, time_spent)")  # fmt: skip
        db.execute("CREATE TABLE logger_contentsummarylog (content_id, channel_id, "
                   "start_timestamp, completion_timestamp)")  # fmt: skip
        db.executemany("INSERT INTO logger_contentsessionlog VALUES (?,?,?,?,?)",
                       [(u, c, CHANNEL, t, s) for u, c, t, s in sessions])  # fmt: skip
        db.executemany("INSERT INTO logger_contentsummarylog VALUES (?,?,?,?)",
                       [(c, CHANNEL, t, d) for c, t, d in summaries])  # fmt: skip


def test_kolibri_learners_started_completed_and_time_per_day(tmp_path: Path) -> None:
    stamp = "2026-11-30 10:00:00.000000(Etc/UTC)"
    late = "2026-11-30 20:30:00.000000(Africa/Nairobi)"  # Kolibri writes UTC: 23:30 there
    kolibri_db(tmp_path / "db.sqlite3", sessions=[
        ("u1", "doc", stamp, 30.0), ("u1", "doc", stamp, 12.0), ("u2", "doc", late, 5.0),
        ("u3", "app", stamp, 60.0),
    ], summaries=[("doc", stamp, stamp), ("doc", late, None), ("app", stamp, None)])  # fmt: skip
    usage = Server(tmp_path, kolibri_db=str(tmp_path / "db.sqlite3")).collect()
    found = {
        (r.day.isoformat(), r.bundle, r.resource): (r.learners, r.started, r.completed, r.seconds)
        for r in usage.rows if r.source == "kolibri"
    }  # fmt: skip
    assert found == {
        ("2026-11-30", "hisabati-sw", "doc"): (2, 2, 1, 47),
        ("2026-11-30", "hisabati-sw", "app"): (1, 1, 0, 60),
    }
    assert "u1" not in json.dumps(usage.model_dump(mode="json"))


def test_a_kolibri_day_is_the_centres_day_whatever_zone_kolibri_names(tmp_path: Path) -> None:
    """Kolibri stores UTC and names the writer's zone; the day is the centre's. 22:30 UTC
    is the next day in Kyiv (UTC+2 in winter, UTC+3 in summer)."""
    winter = "2026-12-02 22:30:00.000000(Europe/Kyiv)"
    summer = "2026-07-01 21:30:00.000000(Etc/UTC)"
    kolibri_db(tmp_path / "db.sqlite3", sessions=[("u1", "doc", winter, 1.0),
                                                  ("u2", "doc", summer, 1.0)],
               summaries=[("doc", winter, winter), ("doc", summer, None)])  # fmt: skip
    db = str(tmp_path / "db.sqlite3")
    days = {
        zone: sorted(r.day.isoformat() for r in Server(tmp_path, db, zone).collect().rows)
        for zone in ("Europe/Kyiv", "UTC")
    }
    assert days == {
        "Europe/Kyiv": ["2026-07-02", "2026-12-03"],
        "UTC": ["2026-07-01", "2026-12-02"],
    }


def usage_file(centre: str, at: float, rows: list[tuple[str, str, int]]) -> UsageFile:
    about = {"b1": BundleInfo(languages=["sw"], subjects=["numeracy"])}
    context = Context(country="KE", region="Kakuma", languages=["sw"], bundles=about)
    return UsageFile(
        centre=centre, collected_at=at, context=context,
        rows=[Row(day=d, source="web", bundle=b, requests=n, devices=n) for d, b, n in rows],
    )  # fmt: skip


def test_a_newer_collection_of_a_day_replaces_the_older_and_reimports_change_nothing(
    tmp_path: Path,
) -> None:
    db = open_store(tmp_path / "usage.sqlite")
    morning = usage_file("c1", 100.0, [("2026-11-30", "b1", 3)])
    evening = usage_file("c1", 200.0, [("2026-11-30", "b1", 9), ("2026-12-01", "b1", 1)])
    assert merge(db, [morning]).added == 1
    merged = merge(db, [evening])
    assert (merged.added, merged.replaced, merged.kept) == (1, 1, 0)
    before = dump(db)
    assert merge(db, [morning, evening]).kept == 3
    assert dump(db) == before
    again = open_store(tmp_path / "again.sqlite")
    merge(again, dump_files(db))
    assert dump(again) == before


days = st.sampled_from(["2026-11-29", "2026-11-30", "2026-12-01"])
exports = st.lists(
    st.builds(
        lambda centre, at, rows: usage_file(centre, float(at), rows),
        st.sampled_from(["c1", "c2"]),
        st.integers(0, 5),
        st.lists(
            st.tuples(days, st.sampled_from(["b1", "portal"]), st.integers(0, 20)),
            max_size=4,
            unique_by=lambda r: (r[0], r[1]),
        ),
    ),
    min_size=1,
    max_size=4,
)


@settings(max_examples=40, deadline=None)
@given(exports, st.randoms())
def test_merging_overlapping_exports_in_any_order_gives_the_same_store(
    files: list[UsageFile], shuffle: Any
) -> None:
    reference = open_store(Path(":memory:"))
    merge(reference, files)
    for order in itertools.islice(itertools.permutations(files), 6):
        other = open_store(Path(":memory:"))
        shuffled = list(order)
        shuffle.shuffle(shuffled)
        for usage in shuffled:
            merge(other, [usage])
        assert dump(other) == dump(reference)


def test_small_counts_are_suppressed_and_groups_follow_the_context(tmp_path: Path) -> None:
    db = open_store(tmp_path / "usage.sqlite")
    merge(db, [usage_file("c1", 1.0, [("2026-11-30", "b1", 7), ("2026-12-01", "b1", 2)])])
    line = build_report(db, "subject").groups[0]
    assert (line.group, line.requests, line.devices) == ("numeracy", 9, 9)
    late = build_report(db, "country", start=datetime.date(2026, 12, 1))
    assert (late.groups[0].group, late.groups[0].requests) == ("KE", "<5")
    assert build_report(db, "region", threshold=2).groups[0].requests == 9
    by_day = build_report(db, "centre").days
    assert [(d.day.isoformat(), d.requests) for d in by_day] == [
        ("2026-11-30", 7), ("2026-12-01", "<5")
    ]  # fmt: skip


def test_a_damaged_extra_or_foreign_export_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "export"
    write_export(folder, [usage_file("c1", 1.0, [("2026-11-30", "b1", 7)])])
    assert [u.centre for u in read_export(folder)] == ["c1"]
    [written] = list((folder / "centres").iterdir())
    data = bytearray(written.read_bytes())
    data[20] ^= 1
    written.write_bytes(bytes(data))
    with pytest.raises(RefusedExportError, match="sha256"):
        read_export(folder)
    data[20] ^= 1
    written.write_bytes(bytes(data))
    (folder / "centres" / "extra.json").write_text("{}")
    with pytest.raises(RefusedExportError, match=r"extra\.json: not in the manifest"):
        read_export(folder)
    with pytest.raises(RefusedExportError, match="not a usage export"):
        read_export(tmp_path)


def test_a_listed_file_that_is_no_usage_file_rolls_the_whole_merge_back(tmp_path: Path) -> None:
    folder = tmp_path / "export"
    good = usage_file("c1", 1.0, [("2026-11-30", "b1", 7)])
    write_export(folder, [good, usage_file("c2", 1.0, [("2026-11-30", "b1", 2)])])
    manifest = json.loads((folder / "manifest.json").read_text())
    foreign = b'{"kind": "something-else"}'
    last = manifest["files"][-1]
    (folder / last["path"]).write_bytes(foreign)
    last["size"], last["sha256"] = len(foreign), hashlib.sha256(foreign).hexdigest()
    (folder / "manifest.json").write_text(json.dumps(manifest))
    db = open_store(tmp_path / "usage.sqlite")
    with pytest.raises(RefusedExportError, match="not a usage file"):
        merge(db, load_files(check_export(folder)))
    assert dump(db) == []
