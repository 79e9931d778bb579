from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lpdeploy.bundle.build import build_bundle
from lpdeploy.bundle.keys import generate_keys, load_private_key, load_public_key, sign
from lpdeploy.bundle.verify import verify_bundle
from lpdeploy.cli import app
from lpdeploy.errors import InputError

META = """\
id: lessons
version: "1.2"
title: Lessons
kind: html
languages: [en, fr]
subjects: [literacy]
age_bands: [primary]
licence: CC-BY-4.0
services: [portal]
"""


@pytest.fixture(name="source")
def fixture_source(tmp_path: Path) -> Path:
    src = tmp_path / "src"
    (src / "content" / "pages").mkdir(parents=True)
    (src / "bundle.yaml").write_text(META)
    (src / "content" / "index.html").write_text("<h1>Hello</h1>")
    (src / "content" / "pages" / "one.html").write_text("one " * 1000)
    (src / "content" / "pages" / "two.html").write_text("two")
    return src


@pytest.fixture(name="keys")
def fixture_keys(tmp_path: Path) -> tuple[Path, Path]:
    private, public, _ = generate_keys(tmp_path / "keys", "publisher")
    return private, public


@pytest.fixture(name="bundle")
def fixture_bundle(source: Path, keys: tuple[Path, Path], tmp_path: Path) -> Path:
    return build_bundle(source, tmp_path / "out", keys[0]).path


def problems_of(bundle: Path, *keys: Path) -> list[tuple[str, str]]:
    verdict = verify_bundle(bundle, [load_public_key(k) for k in keys])
    assert verdict.ok is (not verdict.problems)
    return [(p.path, p.problem) for p in verdict.problems]


def resign(bundle: Path, key: Path) -> None:
    data = (bundle / "bundle.json").read_bytes()
    (bundle / "bundle.json.sig").write_bytes(sign(load_private_key(key), data))


def edit_manifest(bundle: Path, change: Callable[[dict[str, object]], None]) -> None:
    manifest = json.loads((bundle / "bundle.json").read_text())
    change(manifest)
    (bundle / "bundle.json").write_text(json.dumps(manifest))


def test_keys_files(keys: tuple[Path, Path]) -> None:
    private, public = keys
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    line = public.read_text()
    assert line.startswith("lpdeploy-ed25519 ") and line.endswith(" publisher\n")
    assert load_public_key(public).fingerprint.startswith("SHA256:")
    with pytest.raises(InputError, match="already exists"):
        generate_keys(private.parent, "publisher")


def test_build_writes_sorted_hashed_manifest(bundle: Path, source: Path) -> None:
    manifest = json.loads((bundle / "bundle.json").read_text())
    assert bundle.name == "lessons-1.2"
    assert [f["path"] for f in manifest["files"]] == [
        "index.html",
        "pages/one.html",
        "pages/two.html",
    ]
    one = (source / "content" / "pages" / "one.html").read_bytes()
    assert manifest["files"][1] == {
        "path": "pages/one.html",
        "size": len(one),
        "sha256": hashlib.sha256(one).hexdigest(),
    }
    assert manifest["size_bytes"] == sum(f["size"] for f in manifest["files"])
    assert (bundle / "bundle.json.sig").is_file()


def test_build_is_deterministic(source: Path, tmp_path: Path) -> None:
    first = build_bundle(source, tmp_path / "a").path / "bundle.json"
    second = build_bundle(source, tmp_path / "b").path / "bundle.json"
    assert first.read_bytes() == second.read_bytes()
    again = build_bundle(source, tmp_path / "a")
    assert again.unchanged


def test_build_refuses_a_changed_version(source: Path, tmp_path: Path) -> None:
    build_bundle(source, tmp_path / "out")
    (source / "content" / "index.html").write_text("changed")
    with pytest.raises(InputError, match="raise the version"):
        build_bundle(source, tmp_path / "out")


def test_intact_bundle_verifies(bundle: Path, keys: tuple[Path, Path]) -> None:
    assert problems_of(bundle, keys[1]) == []
    verdict = verify_bundle(bundle, [load_public_key(keys[1])])
    assert verdict.signature.startswith("valid: publisher")


def flip_byte(bundle: Path) -> None:
    path = bundle / "content" / "pages" / "one.html"
    data = bytearray(path.read_bytes())
    data[100] ^= 0x01
    path.write_bytes(bytes(data))


def truncate(bundle: Path) -> None:
    path = bundle / "content" / "pages" / "one.html"
    path.write_bytes(path.read_bytes()[:10])


def remove(bundle: Path) -> None:
    (bundle / "content" / "pages" / "two.html").unlink()


def add(bundle: Path) -> None:
    (bundle / "content" / "pages" / "evil.js").write_text("alert(1)")


def rename(bundle: Path) -> None:
    pages = bundle / "content" / "pages"
    (pages / "two.html").rename(pages / "three.html")


def link_outside(bundle: Path) -> None:
    target = bundle / "content" / "pages" / "two.html"
    target.unlink()
    target.symlink_to("/etc/passwd")


def dotdot_in_manifest(bundle: Path) -> None:
    def change(m: dict[str, object]) -> None:
        files = m["files"]
        assert isinstance(files, list)
        files[2]["path"] = "../../etc/passwd"

    edit_manifest(bundle, change)


def edit_size(bundle: Path) -> None:
    def change(m: dict[str, object]) -> None:
        files = m["files"]
        assert isinstance(files, list)
        files[0]["size"] += 1

    edit_manifest(bundle, change)


def edit_hash(bundle: Path) -> None:
    def change(m: dict[str, object]) -> None:
        files = m["files"]
        assert isinstance(files, list)
        files[0]["sha256"] = "0" * 64

    edit_manifest(bundle, change)


def edit_language(bundle: Path) -> None:
    edit_manifest(bundle, lambda m: m.update(languages=["ar"]))


def drop_signature(bundle: Path) -> None:
    (bundle / "bundle.json.sig").unlink()


@pytest.mark.parametrize(
    ("tamper", "path", "words"),
    [
        (flip_byte, "pages/one.html", "sha256 does not match"),
        (truncate, "pages/one.html", "size 10, manifest says 4000"),
        (remove, "pages/two.html", "missing"),
        (add, "pages/evil.js", "not in the manifest"),
        (rename, "pages/three.html", "not in the manifest"),
        (link_outside, "pages/two.html", "symbolic link"),
        (dotdot_in_manifest, "../../etc/passwd", "'..'"),
        (edit_size, "index.html", "size 14, manifest says 15"),
        (edit_hash, "index.html", "sha256 does not match"),
        (edit_language, "bundle.json.sig", "manifest changed after it was signed"),
        (drop_signature, "bundle.json.sig", "unsigned"),
    ],
)
def test_each_tampering_is_named(
    bundle: Path, keys: tuple[Path, Path], tamper: Callable[[Path], None], path: str, words: str
) -> None:
    tamper(bundle)
    found = problems_of(bundle, keys[1])
    assert any(p == path and words in problem for p, problem in found), found


@pytest.mark.parametrize("tamper", [edit_size, edit_hash, edit_language])
def test_manifest_resigned_by_another_key(
    bundle: Path, keys: tuple[Path, Path], tmp_path: Path, tamper: Callable[[Path], None]
) -> None:
    tamper(bundle)
    other, _, _ = generate_keys(tmp_path / "other", "mallory")
    resign(bundle, other)
    found = problems_of(bundle, keys[1])
    assert any(p == "bundle.json.sig" and "not among the trusted keys" in m for p, m in found)


def test_rename_also_reports_the_missing_name(bundle: Path, keys: tuple[Path, Path]) -> None:
    rename(bundle)
    assert ("pages/two.html", "missing") in problems_of(bundle, keys[1])


def test_without_trusted_keys_the_signature_is_not_checked(bundle: Path) -> None:
    drop_signature(bundle)
    verdict = verify_bundle(bundle, [])
    assert verdict.ok
    assert verdict.signature.startswith("not checked")


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ("not json", "not valid JSON"),
        ('{"schema_version": 2}', "schema_version"),
        ('{"schema_version": 1, "id": "x"}', "required, but missing"),
        ("", "is empty"),
    ],
)
def test_malformed_manifest_is_input_error(bundle: Path, content: str, words: str) -> None:
    (bundle / "bundle.json").write_text(content)
    with pytest.raises(InputError, match=words):
        verify_bundle(bundle, [])


@pytest.mark.parametrize(
    ("prepare", "words"),
    [
        (lambda c: (c / "link").symlink_to("/etc/hostname"), "symbolic link leaving the bundle"),
        (lambda c: os.mkfifo(c / "pipe"), "not a regular file"),
        (lambda c: (c / "Index.HTML").write_text("x"), "name collides with"),
    ],
)
def test_build_refuses_bad_content(
    source: Path, tmp_path: Path, prepare: Callable[[Path], None], words: str
) -> None:
    prepare(source / "content")
    with pytest.raises(InputError, match=words):
        build_bundle(source, tmp_path / "out")
    assert not (tmp_path / "out" / "lessons-1.2").exists()


def test_build_refuses_empty_content(source: Path, tmp_path: Path) -> None:
    shutil.rmtree(source / "content")
    (source / "content").mkdir()
    with pytest.raises(InputError, match="is empty"):
        build_bundle(source, tmp_path / "out")


def test_build_keeps_a_link_inside_as_a_file(source: Path, tmp_path: Path) -> None:
    (source / "content" / "home.html").symlink_to("index.html")
    built = build_bundle(source, tmp_path / "out")
    home = built.path / "content" / "home.html"
    assert not home.is_symlink() and home.read_text() == "<h1>Hello</h1>"


def test_bad_metadata_names_line_and_field(source: Path, tmp_path: Path) -> None:
    (source / "bundle.yaml").write_text(META.replace("kind: html", "kind: pdf"))
    with pytest.raises(InputError) as caught:
        build_bundle(source, tmp_path / "out")
    [issue] = caught.value.issues
    assert (issue.line, issue.field) == (4, "kind")


def test_cli_verify_exit_codes(runner: CliRunner, bundle: Path, keys: tuple[Path, Path]) -> None:
    args = ["bundle", "verify", str(bundle), "--trusted-key", str(keys[1]), "--json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["ok"] is True
    flip_byte(bundle)
    result = runner.invoke(app, args)
    assert result.exit_code == 1
    document = json.loads(result.stdout)
    assert document["problems"] == [
        {"path": "pages/one.html", "problem": "sha256 does not match the manifest"}
    ]
    (bundle / "bundle.json").write_text("{")
    assert runner.invoke(app, args).exit_code == 2


def test_cli_build_and_keys(runner: CliRunner, source: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["keys", "generate", "--out", str(tmp_path / "k"), "--json"])
    assert result.exit_code == 0, result.stderr
    private = json.loads(result.stdout)["private_key"]
    result = runner.invoke(
        app,
        [
            "bundle",
            "build",
            str(source),
            "--out",
            str(tmp_path / "o"),
            "--sign-key",
            private,
            "--json",
        ],
    )
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["signed"] is True


def test_catalog_index_round_trip(runner: CliRunner, bundle: Path) -> None:
    root = bundle.parent
    result = runner.invoke(app, ["catalog", "index", str(root), "--json"])
    assert result.exit_code == 0, result.stderr
    index = json.loads((root / "catalog.json").read_text())
    assert [b["id"] for b in index["bundles"]] == ["lessons"]
    listed = runner.invoke(
        app, ["catalog", "list", "--catalog", str(root / "catalog.json"), "--json"]
    )
    assert [b["id"] for b in json.loads(listed.stdout)["bundles"]] == ["lessons"]
