"""server_base's unpack of the package repository: into a folder beside its place, then
moved in whole. An unpack cut halfway leaves no folder holding the index (the archive's
first member), which the next run would take as done."""

from __future__ import annotations

import io
import subprocess
import tarfile
from pathlib import Path

import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template

TASKS = Path(__file__).parents[3] / "playbooks/roles/server_base/tasks/install.yml"
KEY = "0123abcd"
MEMBERS = {"Packages": b"Package: a\n", "a_1_all.deb": b"a" * 300_000, "wheels/w.whl": b"w"}


def unpack_argv(root: Path) -> list[str]:
    block = next(t for t in yaml.safe_load(TASKS.read_text()) if "block" in t)["block"]
    task = next(t for t in block if t["name"] == "Unpack the package repository")
    command = task["ansible.builtin.command"]
    assert command["creates"] == "{{ server_base_repo_root }}/{{ lpdeploy_repo_key }}/Packages"
    variables = {"server_base_repo_root": str(root), "lpdeploy_repo_key": KEY}
    templar = Templar(loader=DataLoader(), variables=variables)
    return [str(templar.template(trust_as_template(arg))) for arg in command["argv"]]


def archive(root: Path) -> Path:
    """The repository's archive as the kit writes it: the index first."""
    path = root / f"packages-{KEY}.tar"
    with tarfile.open(path, "w") as tar:
        for name, data in MEMBERS.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def unpack(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(unpack_argv(root), capture_output=True, text=True, check=False)


def test_the_repository_is_unpacked_whole(tmp_path: Path) -> None:
    archive(tmp_path)
    done = unpack(tmp_path)
    assert done.returncode == 0, done.stderr
    unpacked = tmp_path / KEY
    assert {str(p.relative_to(unpacked)) for p in unpacked.rglob("*") if p.is_file()} == set(
        MEMBERS
    )
    assert (unpacked / "a_1_all.deb").read_bytes() == MEMBERS["a_1_all.deb"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [KEY, f"packages-{KEY}.tar"]


def test_an_unpack_cut_halfway_leaves_no_index_and_the_next_one_mends_it(tmp_path: Path) -> None:
    path = archive(tmp_path)
    whole = path.read_bytes()
    path.write_bytes(whole[: 512 * 3 + 100_000])  # the index, then part of the first package
    cut = unpack(tmp_path)
    assert cut.returncode != 0
    assert not (tmp_path / KEY / "Packages").exists()  # install's `creates` finds it not done
    (tmp_path / KEY).mkdir(exist_ok=True)  # and a folder an older unpack left half filled
    (tmp_path / KEY / "a_1_all.deb").write_bytes(b"half")
    path.write_bytes(whole)
    done = unpack(tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / KEY / "a_1_all.deb").read_bytes() == MEMBERS["a_1_all.deb"]
    assert (tmp_path / KEY / "Packages").read_bytes() == MEMBERS["Packages"]
    assert not (tmp_path / f".{KEY}.unpacking").exists()
