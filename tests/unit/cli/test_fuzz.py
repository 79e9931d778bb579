"""Every input file, fuzzed (issue 7, item 6): profile, plan, catalog, manifest, inventory
and journal. Whatever the bytes, a command ends with a documented exit code and, when it
refuses, a message naming the file; never a traceback.

Each case mutates a good document (a value replaced by anything JSON or YAML can hold, or
a key dropped) or writes arbitrary text or bytes. Examples are derandomized so CI runs
the same ones every time; `HYPOTHESIS_PROFILE=deep` runs many more, at random.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from lpdeploy.cli import app
from lpdeploy.errors import InputError
from lpdeploy.runner.inventory import inventory_connections

FIXTURES = Path(__file__).parents[2] / "fixtures"
REPO = Path(__file__).parents[3]

settings.register_profile(
    "ci", derandomize=True, database=None, deadline=None, max_examples=60,
    suppress_health_check=[HealthCheck.too_slow],
)  # fmt: skip
settings.register_profile("deep", deadline=None, max_examples=2000, database=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=30),
    st.sampled_from(["", "en", "x" * 300, "../../etc/passwd", "centre-01", "1.0.0", "zim"]),
)  # fmt: skip
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=8,
)


def paths(document: Any, here: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every place in a document: keys of mappings and items of lists."""
    if isinstance(document, dict):
        for key, value in document.items():
            yield (*here, key)
            yield from paths(value, (*here, key))
    elif isinstance(document, list):
        for index, value in enumerate(document):
            yield (*here, index)
            yield from paths(value, (*here, index))


@st.composite
def mutated(draw: st.DrawFn, good: Any) -> Any:
    """The good document with one to three places replaced by anything, or dropped."""
    document = json.loads(json.dumps(good))
    for _ in range(draw(st.integers(1, 3))):
        where = list(paths(document))
        if not where:
            break
        path = draw(st.sampled_from(where))
        parent = document
        for part in path[:-1]:
            parent = parent[part]
        if draw(st.booleans()) and isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent[path[-1]] = draw(values)
    return document


def good_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


GOOD_PROFILE = good_yaml(FIXTURES / "profiles" / "small.yaml")
GOOD_CATALOG = json.loads((FIXTURES / "catalog.json").read_text())
GOOD_MANIFEST = json.loads((REPO / "bundles" / "compter-fr-1.0.0" / "bundle.json").read_text())
GOOD_INVENTORY = {
    "all": {"hosts": {"centre-01": {"ansible_host": "10.0.0.1", "ansible_port": 22,
            "ansible_user": "root", "ansible_ssh_common_args": "-o UserKnownHostsFile=/x"}}}
}  # fmt: skip


def as_text(document: Any, kind: str) -> str:
    if kind == "yaml":
        return yaml.safe_dump(document, allow_unicode=True)
    return json.dumps(document, allow_nan=True)


raw = st.one_of(st.text(max_size=300), st.binary(max_size=300).map(lambda b: b.decode("latin-1")))


def run(*args: str, home: Path | None = None) -> tuple[int, str]:
    env = {"LPDEPLOY_HOME": str(home)} if home else {}
    result = CliRunner().invoke(app, list(args), env=env)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception  # the traceback a user would have seen
    return result.exit_code, result.stderr


def refused_well(code: int, said: str, allowed: set[int], name: str) -> None:
    assert code in allowed, said
    assert "Traceback" not in said
    if code == 2:
        assert said.startswith("error:") or "Usage:" in said, said
        assert name in said or "Usage:" in said, said


@pytest.fixture(name="folder", scope="module")
def fixture_folder() -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as name:
        yield Path(name)


@given(text=st.one_of(raw, mutated(GOOD_PROFILE).map(lambda d: as_text(d, "yaml"))))
def test_profile(folder: Path, text: str) -> None:
    path = folder / "profile.yaml"
    path.write_bytes(text.encode("utf-8", "surrogateescape"))
    refused_well(*run("profile", "validate", str(path)), {0, 2}, str(path))
    catalog = str(FIXTURES / "catalog.json")
    refused_well(*run("plan", str(path), "--catalog", catalog, "--json"), {0, 2}, str(path))


def good_plan() -> Any:
    code = CliRunner().invoke(
        app, ["plan", str(FIXTURES / "profiles/small.yaml"), "--catalog",
              str(FIXTURES / "catalog.json"), "--json"],
    )  # fmt: skip
    return json.loads(code.stdout)


GOOD_PLAN = good_plan()


@given(text=st.one_of(raw, mutated(GOOD_PLAN).map(lambda d: as_text(d, "json"))))
def test_plan(folder: Path, text: str) -> None:
    path = folder / "plan.json"
    path.write_text(text, encoding="utf-8", errors="surrogateescape")
    refused_well(*run("plan", "show", str(path)), {0, 2}, str(path))
    refused_well(*run("plan", "diff", str(path), str(path)), {0, 2}, str(path))


@given(text=st.one_of(raw, mutated(GOOD_CATALOG).map(lambda d: as_text(d, "json"))))
def test_catalog_index(folder: Path, text: str) -> None:
    path = folder / "catalog" / "catalog.json"
    path.parent.mkdir(exist_ok=True)
    path.write_text(text, encoding="utf-8", errors="surrogateescape")
    refused_well(*run("catalog", "list", "--catalog", str(path)), {0, 2}, str(path))


@given(text=st.one_of(raw, mutated(GOOD_MANIFEST).map(lambda d: as_text(d, "json"))))
def test_bundle_manifest(folder: Path, text: str) -> None:
    bundle = folder / "bundle"
    if not bundle.exists():
        shutil.copytree(REPO / "bundles" / "compter-fr-1.0.0", bundle)
        (bundle / "bundle.json.sig").unlink(missing_ok=True)
    path = bundle / "bundle.json"
    path.write_text(text, encoding="utf-8", errors="surrogateescape")
    refused_well(*run("bundle", "verify", str(bundle)), {0, 1, 2}, str(path))
    refused_well(*run("catalog", "list", "--catalog", str(bundle)), {0, 2}, str(path))


@settings(max_examples=8)  # each one runs ansible-inventory (about a second)
@given(text=st.one_of(raw, mutated(GOOD_INVENTORY).map(lambda d: as_text(d, "yaml"))))
def test_inventory(folder: Path, text: str) -> None:
    path = folder / "inventory.yml"
    path.write_text(text, encoding="utf-8", errors="surrogateescape")
    try:
        found = inventory_connections(path)
    except InputError as exc:
        assert str(path) in str(exc)
    else:
        assert all(c.address and c.port > 0 for c in found.values())


@given(data=st.one_of(st.binary(max_size=2000), st.sampled_from(["runs(x)", "runs(id, kind)"])))
def test_journal(folder: Path, data: bytes | str) -> None:
    home = folder / "home"
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir()
    journal = home / "journal.sqlite"
    if isinstance(data, bytes):
        journal.write_bytes(data)
    else:
        with sqlite3.connect(journal) as db:
            db.execute(f"CREATE TABLE {data}")
        db.close()
    refused_well(*run("status", "--json", home=home), {0, 2}, str(journal))


GOOD_EXTRACT = {
    "schema_version": 1,
    "plan": {"name": "camp", "sha256": "a" * 64},
    "runs": [{"kind": "verify", "started": 1.5, "ended": 2.5, "outcome": "ready", "centres": [
        {"centre": "lc-01", "wave": 0, "outcome": "ready", "changed": 0, "seconds": 0.0,
         "message": ""}]}],
}  # fmt: skip


@given(text=st.one_of(raw, mutated(GOOD_EXTRACT).map(lambda d: as_text(d, "json"))))
def test_journal_extract(folder: Path, text: str) -> None:
    usb = folder / "usb"
    usb.mkdir(exist_ok=True)
    path = usb / "journal.json"
    path.write_text(text, encoding="utf-8", errors="surrogateescape")
    home = folder / "hq"
    code, said = run("status", "import", str(usb), "--json", home=home)
    refused_well(code, said, {0, 2}, str(path))
