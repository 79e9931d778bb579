"""Build a real Kolibri channel from a source folder, with Kolibri's own code.

    python tools/kolibri_channel.py SOURCE STAGE

SOURCE holds `bundle.yaml` (kind kolibri, with `kolibri: {channel_id, channel_version}`)
and `channel.yaml`, the topic tree: each resource an HTML5 app (a folder, zipped), a
document (an HTML page printed to PDF by headless Chromium) or an exercise (numeric
questions, written as a Perseus archive). STAGE receives `bundle.yaml` and `content/`,
the drive layout Kolibri's own `exportchannel` and `exportcontent` write (a channel
database under `databases/`, the files under `storage/`), ready for `bundle build`.

The channel database is made by Kolibri's content schema (its SQLAlchemy bridge, run in
`kolibri manage shell`), then imported into a throwaway Kolibri home and exported again by
Kolibri's commands, so what ships is what Kolibri itself writes. Kolibri runs from the
virtual environment `lpdeploy.kolibri.controller_kolibri` makes, offline once made.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
import zipfile
from pathlib import Path
from typing import Any

import langcodes
import yaml

from lpdeploy.kolibri import controller_kolibri

FIXED_TIME = (2026, 1, 1, 0, 0, 0)
"""Every zip entry's date: the same source makes the same archive (and the same md5)."""
ACTIVITY = {"html5": "#j8L0eq3", "document": "wA01urpi", "exercise": "VwRCom7G"}
"""Kolibri's learning activity labels (le_utils): explore, read, practice."""
FILE = {
    "html5": ("html5_zip", "zip"),
    "document": ("document", "pdf"),
    "exercise": ("exercise", "perseus"),
}
"""Each resource kind's file preset and extension."""

# Run by `kolibri manage shell` in Kolibri's own environment: the spec's rows go into a new
# channel database through Kolibri's content schema.
WRITE_DATABASE = """
import datetime, json, os
from kolibri.core.content import models
from kolibri.core.content.constants.schema_versions import CONTENT_SCHEMA_VERSION
from kolibri.core.content.utils.sqlalchemybridge import Bridge
from kolibri.core.fields import create_timezonestamp

spec = json.load(open(os.environ["LPDEPLOY_CHANNEL_SPEC"], encoding="utf-8"))
bridge = Bridge(sqlite_file_path=spec["database"], schema_version=CONTENT_SCHEMA_VERSION)
def put(model, rows):
    if rows:
        bridge.execute(bridge.get_table(model).insert(), rows)
put(models.Language, spec["languages"])
put(models.ContentNode, spec["nodes"])
put(models.LocalFile, spec["local_files"])
put(models.File, spec["files"])
put(models.AssessmentMetaData, spec["assessments"])
channel = dict(spec["channel"], min_schema_version=CONTENT_SCHEMA_VERSION)
channel["last_updated"] = create_timezonestamp(
    datetime.datetime(*spec["updated"], tzinfo=datetime.timezone.utc))
put(models.ChannelMetadata, [channel])
bridge.end()
"""


def node_id(channel: str, *path: str) -> str:
    """A stable id for a node: the same source gives the same channel."""
    return uuid.uuid5(uuid.UUID(channel), "/".join(path)).hex


def zip_bytes(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(entries):
            info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, entries[name])
    return buffer.getvalue()


def html5_app(folder: Path) -> bytes:
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    return zip_bytes({p.relative_to(folder).as_posix(): p.read_bytes() for p in files})


def document(page: Path, work: Path) -> bytes:
    """The page printed to PDF by headless Chromium (fonts for every script it holds)."""
    out = work / f"{page.stem}.pdf"
    subprocess.run(
        [
            "chromium", "--headless", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer",
            f"--user-data-dir={work / 'chromium'}", f"--print-to-pdf={out}", page.as_uri(),
        ],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    return out.read_bytes()


def exercise(
    channel: str, path: tuple[str, ...], questions: list[dict[str, Any]]
) -> tuple[bytes, list[str]]:
    """A Perseus archive: one numeric-input item per question, and exercise.json."""
    items: dict[str, bytes] = {}
    ids = []
    for number, question in enumerate(questions, 1):
        item = node_id(channel, *path, f"item-{number}")
        ids.append(item)
        widget = {
            "type": "numeric-input",
            "graded": True,
            "options": {
                "answers": [
                    {"value": question["answer"], "status": "correct", "message": "",
                     "simplify": "required", "strict": False, "maxError": None}
                ],
                "size": "normal", "coefficient": False, "labelText": "",
            },
            "version": {"major": 0, "minor": 0},
        }  # fmt: skip
        document = {
            "question": {
                "content": f"{question['text']} [[☃ numeric-input 1]]",
                "images": {},
                "widgets": {"numeric-input 1": widget},
            },
            "answerArea": {"calculator": False},
            "itemDataVersion": {"major": 0, "minor": 1},
            "hints": [],
        }
        items[f"{item}.json"] = json.dumps(document, ensure_ascii=False, sort_keys=True).encode()
    items["exercise.json"] = json.dumps(
        {
            "all_assessment_items": ids,
            "assessment_mapping": {i: "input_question" for i in ids},
            "mastery_model": "do_all",
            "randomize": False,
        },
        sort_keys=True,
    ).encode()
    return zip_bytes(items), ids


def channel_spec(source: Path, meta: dict[str, Any], work: Path) -> dict[str, Any]:
    """Every row of the channel database, with its files written under work/storage."""
    tree = yaml.safe_load((source / "channel.yaml").read_text(encoding="utf-8"))
    channel = meta["kolibri"]["channel_id"]
    tag = tree["language"]
    language = langcodes.Language.get(tag)
    spec: dict[str, Any] = {
        "languages": [
            {"id": tag, "lang_code": language.language, "lang_subcode": None,
             "lang_name": language.autonym(), "lang_direction": "rtl" if language.language in
             ("ar", "fa", "he", "ur", "ps") else "ltr"}
        ],
        "nodes": [], "local_files": [], "files": [], "assessments": [],
        "updated": list(FIXED_TIME),
    }  # fmt: skip
    counter = iter(range(1, 10_000))

    def node(path: tuple[str, ...], title: str, kind: str, parent: str | None, level: int,
             order: int) -> dict[str, Any]:  # fmt: skip
        row = {
            "id": node_id(channel, *path), "content_id": node_id(channel, "content", *path),
            "channel_id": channel, "parent_id": parent, "title": title, "kind": kind,
            "description": "", "sort_order": float(order), "license_name": meta["licence"],
            "license_description": None, "license_owner": tree["author"],
            "author": tree["author"], "coach_content": False, "available": False,
            "options": "{}", "lang_id": tag, "tree_id": 1, "level": level,
            "lft": next(counter), "rght": 0, "grade_levels": None, "resource_types": None,
            "learning_activities": ACTIVITY.get(kind), "accessibility_labels": None,
            "categories": None, "learner_needs": None, "duration": None,
        }  # fmt: skip
        spec["nodes"].append(row)
        return row

    def store(row: dict[str, Any], kind: str, data: bytes) -> None:
        preset, extension = FILE[kind]
        md5 = hashlib.md5(data).hexdigest()  # Kolibri names files by md5
        target = work / "storage" / md5[0] / md5[1] / f"{md5}.{extension}"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        spec["local_files"].append(
            {"id": md5, "extension": extension, "available": False, "file_size": len(data)}
        )
        spec["files"].append(
            {"id": node_id(channel, row["id"], "file"), "preset": preset, "supplementary": False,
             "thumbnail": False, "priority": 1, "contentnode_id": row["id"], "lang_id": tag,
             "local_file_id": md5}
        )  # fmt: skip

    root = node(("root",), tree["name"], "topic", None, 0, 1)
    for t, topic in enumerate(tree["topics"], 1):
        topic_path = ("root", f"topic-{t}")
        folder = node(topic_path, topic["title"], "topic", root["id"], 1, t)
        for r, resource in enumerate(topic["resources"], 1):
            path = (*topic_path, f"resource-{r}")
            kind = resource["kind"]
            row = node(path, resource["title"], kind, folder["id"], 2, r)
            if kind == "html5":
                store(row, kind, html5_app(source / resource["folder"]))
            elif kind == "document":
                store(row, kind, document(source / resource["page"], work))
            elif kind == "exercise":
                data, ids = exercise(channel, path, resource["questions"])
                store(row, kind, data)
                spec["assessments"].append(
                    {"id": node_id(channel, *path, "assessment"), "contentnode_id": row["id"],
                     "assessment_item_ids": json.dumps(ids), "number_of_assessments": len(ids),
                     "mastery_model": json.dumps({"type": "do_all"}), "randomize": False,
                     "is_manipulable": True}
                )  # fmt: skip
                row["options"] = json.dumps(
                    {"completion_criteria": {"model": "mastery",
                                             "threshold": {"mastery_model": "do_all"}}}
                )  # fmt: skip
            else:
                raise SystemExit(f"{source}: unknown resource kind {kind!r}")
            row["rght"] = next(counter)
        folder["rght"] = next(counter)
    root["rght"] = next(counter)
    spec["channel"] = {
        "id": channel, "name": tree["name"], "description": tree["description"],
        "tagline": None, "author": tree["author"], "version": meta["kolibri"]["channel_version"],
        "thumbnail": "", "root_id": root["id"],
    }  # fmt: skip
    return spec


def build_channel(source: Path, stage: Path) -> Path:
    """`stage/bundle.yaml` and `stage/content/`, the channel as Kolibri exports it."""
    meta = yaml.safe_load((source / "bundle.yaml").read_text(encoding="utf-8"))
    channel = meta["kolibri"]["channel_id"]
    kolibri = controller_kolibri()
    with tempfile.TemporaryDirectory(prefix="lpdeploy-channel-") as tmp:
        work = Path(tmp)
        made = work / "made"
        (made / "content" / "databases").mkdir(parents=True)
        spec = channel_spec(source, meta, made / "content")
        spec["database"] = str(made / "content" / "databases" / f"{channel}.sqlite3")
        (work / "spec.json").write_text(json.dumps(spec, ensure_ascii=False), encoding="utf-8")
        env = {
            **os.environ,
            "KOLIBRI_HOME": str(work / "home"),
            "KOLIBRI_DISABLE_PING": "1",
            "KOLIBRI_ZEROCONF_ENABLED": "0",
            "LPDEPLOY_CHANNEL_SPEC": str(work / "spec.json"),
        }

        def manage(*args: str) -> None:
            done = subprocess.run([str(kolibri), "manage", *args], env=env, check=False,
                                  capture_output=True, text=True, timeout=600)  # fmt: skip
            if done.returncode != 0:
                raise SystemExit(f"{source}: kolibri manage {args[0]} failed:\n{done.stderr}")

        manage("shell", "-c", WRITE_DATABASE)
        drive = work / "drive" / "KOLIBRI_DATA"
        manage("importchannel", "disk", channel, str(made))
        manage("importcontent", "disk", channel, str(made))
        manage("exportchannel", channel, str(drive))
        manage("exportcontent", channel, str(drive))
        (stage / "content").parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(drive / "content", stage / "content")
    shutil.copyfile(source / "bundle.yaml", stage / "bundle.yaml")
    return stage


if __name__ == "__main__":
    build_channel(Path(sys.argv[1]), Path(sys.argv[2]))
