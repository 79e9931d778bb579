"""Redaction and the archive format of the diagnostics collector; --local on this machine."""

from __future__ import annotations

import base64
import io
import json
import tarfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lpdeploy.cli import app
from lpdeploy.diagnose import collector
from lpdeploy.diagnose.gather import unpack

KEY = (
    "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n"
    "-----END OPENSSH PRIVATE KEY-----\n"
)


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("wpa_passphrase=hunter22-x\n", "hunter22-x"),
        ("  admin_password = s3cret!x\n", "s3cret!x"),
        ('{"kolibri_admin_password": "abc123xy", "ok": 1}\n', "abc123xy"),
        ("GET /api?token=abcd1234&page=2 HTTP/1.1\n", "abcd1234"),
        ("ExecStart=/usr/bin/tool --password hush-hush-1\n", "hush-hush-1"),
        ("centre_admin:$6$saltsalt$" + "h" * 40 + ":19000\n", "$6$saltsalt$"),
        ("pbkdf2_sha256$260000$salt$hashhashhash=\n", "pbkdf2_sha256$260000"),
        (f"leading text\n{KEY}trailing\n", "b3BlbnNzaC1rZXktdjEAAAAA"),
        ("Secret: top-secret-value\n", "top-secret-value"),
    ],
)
def test_each_kind_of_secret_is_replaced(text: str, secret: str) -> None:
    clean, count = collector.redact(text)
    assert secret not in clean
    assert collector.MARKER in clean and count >= 1


@pytest.mark.parametrize(
    "text",
    ["passwd 1:4.13+dfsg1-1 amd64\n", "libpam-passwdqc 2.0.2-2\n", "ssid=learn-camp-4\n"],
)
def test_what_only_looks_like_a_secret_is_kept(text: str) -> None:
    assert collector.redact(text) == (text, 0)


def test_given_values_are_replaced_anywhere() -> None:
    clean, count = collector.redact("the wifi is Zebra-4471 today", ("Zebra-4471", "abc"))
    assert clean == "the wifi is [REDACTED] today" and count == 1  # "abc": too short to hunt


def test_the_archive_holds_bounded_redacted_parts_and_a_manifest() -> None:
    parts = {"logs/big.log": "x" * (collector.MAX_BYTES + 10), "config/a.conf": "psk=abcdefgh\n"}
    data = collector.archive(parts, {"host": "h"})
    found, about = unpack(base64.b64encode(data).decode())
    assert len(found["logs/big.log"]) == collector.MAX_BYTES
    assert found["config/a.conf"] == "psk=[REDACTED]\n"
    assert about == {"host": "h", "redacted": 1}


def test_an_answer_that_is_not_an_archive_is_refused() -> None:
    with pytest.raises(ValueError):
        unpack("not base64!")
    with pytest.raises(ValueError):
        unpack(base64.b64encode(b"plain bytes").decode())
    for manifest in ("[" * 100_000, "[]"):
        with pytest.raises(ValueError, match="MANIFEST"):
            unpack(base64.b64encode(rearchive({"MANIFEST.json": manifest})).decode())


def rearchive(parts: dict[str, str]) -> bytes:
    """An archive holding exactly `parts` (a collector never writes a bad manifest)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, text in parts.items():
            collector.add(tar, name, text.encode())
    return buffer.getvalue()


def test_local_writes_this_machines_archive(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["diagnose", "--local", "--out", str(tmp_path), "--json"])
    assert result.exit_code == 0, result.output
    path = Path(json.loads(result.stdout)["written"]["local"])
    assert path.parent == tmp_path and path.stat().st_mode & 0o077 == 0
    with tarfile.open(path) as tar:
        names = tar.getnames()
    assert {"MANIFEST.json", "system/disk.txt", "system/packages.txt"} <= set(names)


def test_a_plan_or_local_is_needed() -> None:
    result = CliRunner().invoke(app, ["diagnose", "--out", "x"])
    assert result.exit_code == 2
