"""The bundle helper that runs on each server (roles/bundle_loader/files/lpdeploy-bundle)."""

from __future__ import annotations

import hashlib
import importlib.machinery
import importlib.util
import json
import os
import threading
import time
from pathlib import Path
from types import ModuleType

import pytest

HELPER = Path(__file__).parents[3] / "playbooks/roles/bundle_loader/files/lpdeploy-bundle"


@pytest.fixture(name="helper", scope="module")
def fixture_helper() -> ModuleType:
    loader = importlib.machinery.SourceFileLoader("lpdeploy_bundle_helper", str(HELPER))
    spec = importlib.util.spec_from_loader(loader.name, loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def push(root: Path, bid: str, version: str, files: dict[str, bytes]) -> None:
    """What rsync leaves on a server: a staging folder with the bundle's manifest."""
    staging = root / bid / f".staging-{version}"
    (staging / "content").mkdir(parents=True)
    listed = []
    for path, data in sorted(files.items()):
        (staging / "content" / path).write_bytes(data)
        listed.append({"path": path, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()})
    (staging / "bundle.json").write_text(json.dumps({"id": bid, "files": listed}))


def digest(helper: ModuleType, folder: Path) -> str:
    """The helper's digest of the files a folder's bundle.json lists."""
    files = json.loads((folder / "bundle.json").read_text())["files"]
    return str(helper.files_digest(files))


def planned(*refs: tuple[str, str]) -> list[dict[str, str]]:
    return [{"id": bid, "version": version} for bid, version in refs]


def test_pushed_bundles_are_checked_and_activated(helper: ModuleType, tmp_path: Path) -> None:
    push(tmp_path, "a", "1", {"x.txt": b"x"})
    result = helper.install(str(tmp_path), planned(("a", "1")))
    assert result == {
        "changed": True, "activated": ["a"], "removed": [], "kept": [], "refused": []
    }  # fmt: skip
    assert (tmp_path / "a" / "current").readlink() == Path("1")
    again = helper.install(str(tmp_path), planned(("a", "1")))
    assert again["changed"] is False


def test_a_bundle_the_plan_dropped_is_removed(helper: ModuleType, tmp_path: Path) -> None:
    push(tmp_path, "a", "1", {"x.txt": b"x"})
    push(tmp_path, "b", "1", {"y.txt": b"y"})
    helper.install(str(tmp_path), planned(("a", "1"), ("b", "1")))
    result = helper.install(str(tmp_path), planned(("b", "1")))
    assert result["removed"] == ["a"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b"]


def test_an_old_version_goes_once_the_new_one_is_current(
    helper: ModuleType, tmp_path: Path
) -> None:
    push(tmp_path, "a", "1", {"x.txt": b"x"})
    helper.install(str(tmp_path), planned(("a", "1")))
    push(tmp_path, "a", "2", {"x.txt": b"xx"})
    result = helper.install(str(tmp_path), planned(("a", "2")))
    assert result["activated"] == ["a"] and result["removed"] == ["a/1"]
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["2", "current"]


def test_a_kept_version_stays_inactive_and_switches_back_without_a_push(
    helper: ModuleType, tmp_path: Path
) -> None:
    push(tmp_path, "a", "1", {"x.txt": b"x"})
    helper.install(str(tmp_path), planned(("a", "1")))
    push(tmp_path, "a", "2", {"x.txt": b"xx"})
    result = helper.install(str(tmp_path), planned(("a", "2")), planned(("a", "1")))
    assert result["activated"] == ["a"] and result["removed"] == [] and result["kept"] == ["a/1"]
    assert (tmp_path / "a" / "current").readlink() == Path("2")
    # The rollback: version 1 is held, so nothing is missing and it is switched back to.
    assert helper.missing(str(tmp_path), planned(("a", "1"))) == []
    back = helper.install(str(tmp_path), planned(("a", "1")))
    assert back["activated"] == ["a"] and back["removed"] == ["a/2"]
    assert (tmp_path / "a" / "current").readlink() == Path("1")


def test_a_tampered_push_is_refused_and_nothing_is_removed(
    helper: ModuleType, tmp_path: Path
) -> None:
    push(tmp_path, "a", "1", {"x.txt": b"x"})
    helper.install(str(tmp_path), planned(("a", "1")))
    push(tmp_path, "b", "1", {"y.txt": b"y"})
    (tmp_path / "b" / ".staging-1" / "content" / "y.txt").write_bytes(b"z")
    result = helper.install(str(tmp_path), planned(("b", "1")))
    assert result["refused"] == [
        {"id": "b", "problems": ["y.txt: sha256 does not match the manifest"]}
    ]
    assert (tmp_path / "a" / "current").exists()
    assert not (tmp_path / "b" / "1").exists()


def test_what_an_interrupted_removal_left_is_cleaned_up(helper: ModuleType, tmp_path: Path) -> None:
    (tmp_path / ".removing-0123").mkdir()
    (tmp_path / ".removing-0123" / "half").write_bytes(b"")
    assert helper.present(str(tmp_path)) == {}
    helper.install(str(tmp_path), [])
    assert list(tmp_path.iterdir()) == []


def test_missing_lists_the_planned_versions_the_server_does_not_hold(
    helper: ModuleType, tmp_path: Path
) -> None:
    push(tmp_path, "a", "1", {"x.txt": b"x"})
    helper.install(str(tmp_path), planned(("a", "1")))
    wanted = [{"id": "a", "version": "1", "source": "/s/a"}, {"id": "a", "version": "2"},
              {"id": "b", "version": "1", "source": "/s/b"}]  # fmt: skip
    assert helper.missing(str(tmp_path), wanted) == wanted[1:]


def test_every_bad_file_of_many_is_named_in_manifest_order(
    helper: ModuleType, tmp_path: Path
) -> None:
    files = {f"f{i:03d}.bin": bytes([i % 256]) * 5000 for i in range(200)}
    push(tmp_path, "a", "1", files)
    for name in ("f007.bin", "f150.bin", "f199.bin"):
        (tmp_path / "a" / ".staging-1" / "content" / name).write_bytes(b"\0" * 5000)
    problems = helper.check(str(tmp_path / "a" / ".staging-1"))
    assert problems == [f"{n}: sha256 does not match the manifest"
                        for n in ("f007.bin", "f150.bin", "f199.bin")]  # fmt: skip


def stats(folder: Path) -> dict[str, list[int]]:
    return {
        p.name: [p.stat().st_size, p.stat().st_mtime_ns] for p in (folder / "content").iterdir()
    }


def test_watch_hashes_what_is_complete_and_install_trusts_only_that(
    helper: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    push(tmp_path, "a", "1", {"done.bin": b"d" * 5000, "late.bin": b"l" * 7000})
    staging, record = tmp_path / "a" / ".staging-1", tmp_path / "a" / ".hashes-1.json"
    expected = stats(staging)
    expected["late.bin"][1] += 10**9  # the source's time: rsync has not set it yet
    reader, writer = os.pipe()
    os.close(writer)  # the push is over
    with os.fdopen(reader) as stream:
        done = helper.watch(str(staging), str(record), expected, stream, poll=0.01)
    assert sorted(done) == ["done.bin"]
    assert json.loads(record.read_text()) == done
    hashed: list[str] = []
    real = helper.sha256

    def counted(path: str) -> str:
        hashed.append(path)
        return str(real(path))

    monkeypatch.setattr(helper, "sha256", counted)
    assert helper.check(str(staging), str(record)) == []
    assert [Path(p).name for p in hashed] == ["late.bin"]  # done.bin was hashed as it came

    (staging / "content" / "done.bin").write_bytes(b"D" * 5000)  # changed since: hashed again
    assert helper.check(str(staging), str(record)) == [
        "done.bin: sha256 does not match the manifest"
    ]


def test_watch_hashes_files_as_they_arrive_in_folders_it_lists(
    helper: ModuleType, tmp_path: Path
) -> None:
    """Files come in sub-folders while the push goes on; each is hashed once complete, and
    one that never completes is left to install."""
    source = tmp_path / "source"
    files = {"a/one.bin": b"1" * 3000, "a/b/two.bin": b"2" * 4000, "c/three.bin": b"3" * 10}
    expected = {}
    for path, data in files.items():
        (source / path).parent.mkdir(parents=True, exist_ok=True)
        (source / path).write_bytes(data)
        expected[path] = [len(data), (source / path).stat().st_mtime_ns]
    content = tmp_path / "staging" / "content"
    reader, writer = os.pipe()
    ended: list[bool] = []

    def arrive() -> None:
        for path in ("a/one.bin", "a/b/two.bin"):  # as rsync does: the data, then the time
            time.sleep(0.05)
            (content / path).parent.mkdir(parents=True, exist_ok=True)
            (content / path).write_bytes(files[path])
            os.utime(content / path, ns=(expected[path][1], expected[path][1]))
        (content / "c").mkdir()
        (content / "c" / "three.bin").write_bytes(b"3" * 5)  # cut short
        time.sleep(0.05)
        os.close(writer)

    pusher = threading.Thread(target=arrive)
    pusher.start()
    with os.fdopen(reader) as stream:
        done = helper.watch(str(content.parent), str(tmp_path / "record.json"), expected,
                            stream, poll=0.01, ended=lambda: ended.append(True))  # fmt: skip
    pusher.join()
    assert ended == [True]
    assert {p: v[2] for p, v in done.items()} == {
        p: hashlib.sha256(files[p]).hexdigest() for p in ("a/one.bin", "a/b/two.bin")
    }


def test_install_removes_the_record_and_staging_the_plan_no_longer_wants(
    helper: ModuleType, tmp_path: Path
) -> None:
    push(tmp_path, "a", "1", {"x.txt": b"x"})
    push(tmp_path, "a", "2", {"x.txt": b"xx"})  # staged, then the plan moved back to 1
    (tmp_path / "a" / ".hashes-1.json").write_text("{}")
    (tmp_path / "a" / ".hashes-2.json").write_text("{}")
    assert helper.install(str(tmp_path), planned(("a", "1")))["refused"] == []
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["1", "current"]


def test_a_bundle_staged_whole_is_not_missing_and_installs_without_a_hash(
    helper: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Staged ahead, every file as the watch hashed it: the wave's push is not needed."""
    push(tmp_path, "a", "1", {"x.bin": b"x" * 3000, "y.bin": b"y" * 4000})
    staging, record = tmp_path / "a" / ".staging-1", tmp_path / "a" / ".hashes-1.json"
    wanted = [{"id": "a", "version": "1", "files_sha256": digest(helper, staging)}]
    assert helper.missing(str(tmp_path), wanted) == wanted  # nothing recorded yet
    reader, writer = os.pipe()
    os.close(writer)
    with os.fdopen(reader) as stream:
        helper.watch(str(staging), str(record), stats(staging), stream, poll=0.01)
    monkeypatch.setattr(helper, "sha256", lambda path: pytest.fail(f"{path} hashed again"))
    assert helper.missing(str(tmp_path), wanted) == []
    assert helper.missing(str(tmp_path), [{"id": "a", "version": "1"}]) != []  # no digest given
    assert helper.install(str(tmp_path), wanted)["activated"] == ["a"]


def test_a_staging_not_whole_or_of_other_files_is_missing_and_never_installed(
    helper: ModuleType, tmp_path: Path
) -> None:
    push(tmp_path, "a", "1", {"x.bin": b"x" * 3000, "y.bin": b"y" * 4000})
    staging, record = tmp_path / "a" / ".staging-1", tmp_path / "a" / ".hashes-1.json"
    wanted = [{"id": "a", "version": "1", "files_sha256": digest(helper, staging)}]
    reader, writer = os.pipe()
    os.close(writer)
    with os.fdopen(reader) as stream:
        helper.watch(str(staging), str(record), stats(staging), stream, poll=0.01)
    assert helper.missing(str(tmp_path), wanted) == []  # whole, as planned
    other = [dict(wanted[0], files_sha256="0" * 64)]  # the same version of other files
    assert helper.missing(str(tmp_path), other) == other
    (staging / "content" / "extra.bin").write_bytes(b"e")
    assert helper.missing(str(tmp_path), wanted) == wanted  # something not in the manifest
    (staging / "content" / "extra.bin").unlink()
    (staging / "content" / "y.bin").write_bytes(b"Y" * 4000)  # changed since it was hashed
    assert helper.missing(str(tmp_path), wanted) == wanted
    assert helper.install(str(tmp_path), other)["refused"] == [
        {"id": "a", "problems": ["bundle.json: its files are not those of the planned bundle"]}
    ]
    assert not (tmp_path / "a" / "1").exists()


def test_the_helper_digests_a_manifest_s_files_as_the_controller_does(
    helper: ModuleType, tmp_path: Path
) -> None:
    from lpdeploy.bundle.manifest import BundleManifest

    folders = sorted((HELPER.parents[4] / "bundles").glob("*-*/"))
    assert len(folders) >= 5
    for folder in folders:
        manifest = BundleManifest.model_validate_json((folder / "bundle.json").read_bytes())
        assert digest(helper, folder) == manifest.files_sha256, folder.name
    assert helper.files_digest([{"path": "x"}]) is None  # not a manifest's files
