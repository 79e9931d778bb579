"""Rebuild the sample bundles in bundles/ from their sources in bundles/src/.

A bundle is rebuilt only when its source changed (the digest of every source file is kept
in bundles/src/built.txt), so the committed bundles stay put. HTML bundles rebuild
byte-for-byte; a ZIM file embeds a random UUID that libzim gives no way to set, so a
rebuilt ZIM differs from the last one in those bytes only. A Kolibri channel
(`channel.yaml`) is made by tools/kolibri_channel.py with Kolibri's own code.

Bundles are signed with the demo key (.keys/lpdeploy-demo.key, never committed; made on
first use, with its public half written to bundles/keys/lpdeploy-demo.pub). Re-signing
happens whenever the signature is not by that key.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import langcodes
import yaml
from kolibri_channel import build_channel

from lpdeploy.bundle.build import MANIFEST, SIGNATURE, build_bundle
from lpdeploy.bundle.hashing import tree_digest
from lpdeploy.bundle.keys import (
    generate_keys,
    load_private_key,
    load_public_key,
    read_signature,
    sign,
)

REPO = Path(__file__).resolve().parent.parent
SOURCES = REPO / "bundles" / "src"
RECORD = SOURCES / "built.txt"
KEYS = REPO / ".keys"
PUBLIC = REPO / "bundles" / "keys" / "lpdeploy-demo.pub"


def demo_key() -> Path:
    private = KEYS / "lpdeploy-demo.key"
    if not private.exists():
        _, public, fingerprint = generate_keys(KEYS, "lpdeploy-demo")
        PUBLIC.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(public, PUBLIC)
        print(f"made a new demo signing key {fingerprint}; its public half is {PUBLIC}")
    return private


def build_zim(source: Path, stage: Path) -> Path:
    """Copy bundle.yaml and pack html/ into content/<name>.zim with zimwriterfs."""
    meta = yaml.safe_load((source / "bundle.yaml").read_text(encoding="utf-8"))
    zim = yaml.safe_load((source / "zim.yaml").read_text(encoding="utf-8"))
    (stage / "content").mkdir(parents=True)
    shutil.copyfile(source / "bundle.yaml", stage / "bundle.yaml")
    out = stage / "content" / f"{zim['name']}.zim"
    language = langcodes.Language.get(meta["languages"][0]).to_alpha3()
    subprocess.run(
        [
            "zimwriterfs",
            "--welcome=index.html",
            "--illustration=favicon.png",
            f"--language={language}",
            f"--title={meta['title']}",
            f"--description={zim['description']}",
            f"--creator={zim['creator']}",
            f"--publisher={zim['publisher']}",
            f"--name={zim['name']}",
            str(source / "html"),
            str(out),
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    subprocess.run(["zimcheck", "--all", str(out)], check=True, stdout=subprocess.DEVNULL)
    return stage


def main() -> int:
    key = demo_key()
    fingerprint = load_public_key(PUBLIC).fingerprint
    record = (
        dict(line.split() for line in RECORD.read_text().splitlines()) if RECORD.exists() else {}
    )
    for source in sorted(p for p in SOURCES.iterdir() if (p / "bundle.yaml").is_file()):
        digest = tree_digest(source)
        meta = yaml.safe_load((source / "bundle.yaml").read_text(encoding="utf-8"))
        built = REPO / "bundles" / f"{meta['id']}-{meta['version']}"
        signature = built / SIGNATURE
        signed = (
            signature.is_file()
            and (read_signature(signature.read_bytes()) or ("",))[0] == fingerprint
        )
        if record.get(source.name) == digest and signed:
            continue
        if record.get(source.name) == digest and (built / MANIFEST).is_file():
            # Same source, another key (a new machine's demo key): sign the same manifest.
            signature.write_bytes(sign(load_private_key(key), (built / MANIFEST).read_bytes()))
            print(f"{built.name}: re-signed")
            continue
        if record.get(source.name) != digest and built.exists():
            shutil.rmtree(built)
        with tempfile.TemporaryDirectory() as tmp:
            if (source / "zim.yaml").exists():
                folder = build_zim(source, Path(tmp))
            elif (source / "channel.yaml").exists():
                folder = build_channel(source, Path(tmp))
            else:
                folder = source
            result = build_bundle(folder, REPO / "bundles", key)
        record[source.name] = digest
        print(f"{result.manifest.name}: {'re-signed' if result.unchanged else 'built'}")
    RECORD.write_text("".join(f"{name} {digest}\n" for name, digest in sorted(record.items())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
