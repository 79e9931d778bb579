from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lpdeploy.catalog import load_catalog
from lpdeploy.cli import app
from lpdeploy.errors import InputError


def manifest(bid: str, version: str = "1.0", **extra: object) -> dict[str, object]:
    return {
        "schema_version": 1,
        "id": bid,
        "version": version,
        "title": bid,
        "kind": "html",
        "languages": ["en"],
        "subjects": ["literacy"],
        "age_bands": [],
        "licence": "CC0",
        "services": ["portal"],
        "size_bytes": 0,
        "files": [],
        **extra,
    }


def write_tree(root: Path, *manifests: dict[str, object]) -> Path:
    for m in manifests:
        folder = root / "deep" / f"{m['id']}-{m['version']}"
        folder.mkdir(parents=True)
        (folder / "bundle.json").write_text(json.dumps(m, indent=2))
    return root


def test_index_and_folder_forms(tmp_path: Path, fixtures: Path) -> None:
    index = load_catalog(fixtures / "catalog.json")
    assert len(index.bundles) == 9
    assert [b.version for b in index.latest() if b.id == "my-numeracy"] == ["1.0.0"]
    tree = load_catalog(write_tree(tmp_path, manifest("a"), manifest("b", "2.0")))
    assert [b.name for b in tree.bundles] == ["a-1.0", "b-2.0"]
    assert tree.folders[("b", "2.0")] == tmp_path / "deep" / "b-2.0"


def test_newest_version_wins_naturally(tmp_path: Path) -> None:
    tree = load_catalog(write_tree(tmp_path, manifest("a", "1.9"), manifest("a", "1.10")))
    assert [b.version for b in tree.latest()] == ["1.10"]


def test_folder_digest_changes_with_a_manifest(tmp_path: Path) -> None:
    root = write_tree(tmp_path, manifest("a"))
    before = load_catalog(root).sha256
    (root / "deep" / "a-1.0" / "bundle.json").write_text(json.dumps(manifest("a", title="new")))
    assert load_catalog(root).sha256 != before


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ("{not json", "not valid JSON"),
        (json.dumps(manifest("a", schema_version=7)), "schema_version"),
        (json.dumps({k: v for k, v in manifest("a").items() if k != "title"}), "title: required"),
        (
            json.dumps(
                manifest("a", files=[{"path": "../x", "size": 1, "sha256": "0" * 64}], size_bytes=1)
            ),
            "'..'",
        ),
        (json.dumps(manifest("a", languages=["xx-invalid"])), "BCP 47"),
    ],
)
def test_bad_manifest_names_the_file(tmp_path: Path, content: str, words: str) -> None:
    folder = tmp_path / "a-1.0"
    folder.mkdir()
    (folder / "bundle.json").write_text(content)
    with pytest.raises(InputError) as caught:
        load_catalog(tmp_path)
    assert str(folder / "bundle.json") in str(caught.value)
    assert words in str(caught.value)


def test_duplicate_bundle_in_tree(tmp_path: Path) -> None:
    write_tree(tmp_path / "one", manifest("a"))
    write_tree(tmp_path / "two", manifest("a"))
    with pytest.raises(InputError, match="also at"):
        load_catalog(tmp_path)


def test_missing_catalog(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="catalog not found"):
        load_catalog(tmp_path / "nowhere")


def test_cli_list_filters(runner: CliRunner, fixtures: Path) -> None:
    catalog = str(fixtures / "catalog.json")
    result = runner.invoke(
        app, ["catalog", "list", "--catalog", catalog, "--language", "en", "--json"]
    )
    assert result.exit_code == 0, result.stderr
    ids = [b["id"] for b in json.loads(result.stdout)["bundles"]]
    assert "en-wellbeing-stories" in ids
    assert not any(i.startswith(("rhg", "my", "fr")) for i in ids)
    result = runner.invoke(
        app, ["catalog", "list", "--catalog", catalog, "--subject", "Numeracy", "--json"]
    )
    subjects = {b["id"] for b in json.loads(result.stdout)["bundles"]}
    assert subjects == {"rhg-numeracy-1", "my-numeracy", "en-khan-maths"}


def test_cli_bad_catalog_exit_2(runner: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "catalog.json").write_text('{"schema_version": 1, "bundles": [{"id": 3}]}')
    result = runner.invoke(app, ["catalog", "list", "--catalog", str(tmp_path)])
    assert result.exit_code == 2
    assert "catalog.json:1: bundles[0].id" in result.stderr
