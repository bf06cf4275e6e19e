#!/usr/bin/env python3
"""Writes an unpacked root filesystem holding language packages at the versions where
the advisories of ../shared/vulndata change their answer (every range bound, listed
versions, one patch below a bound), so that `portcullis scan dir:ROOT` and
scripts/oracle-scan.py can be compared on thousands of decisions, not only on the
few packages of the real test image.

Usage: boundary_rootfs.py SNAPSHOT_DIR OUT_DIR   (deterministic: same data, same tree)

What is written (each package where the catalogers of portcullis and of other tools
look for it): Python `*.dist-info/METADATA`, npm `node_modules/<name>/package.json`,
one `Cargo.lock`, one `Gemfile.lock` and one `go.mod` per package version.
"""

from __future__ import annotations

import json
import random
import re
import shutil
import sys
import tarfile
import tomllib
from pathlib import Path

import yaml
from packaging.version import InvalidVersion, Version

LOADER = getattr(yaml, "CBaseLoader", yaml.BaseLoader)


def members(snapshots: Path, name: str, pattern: str):
    with tarfile.open(snapshots / f"{name}.tar.gz") as archive:
        for member in archive:
            if member.isfile() and re.search(pattern, member.name):
                handle = archive.extractfile(member)
                if handle is not None:
                    yield member.name, handle.read()


def osv_bounds(affected: dict) -> set[str]:
    found = set(affected.get("versions") or [])
    for rng in affected.get("ranges") or []:
        for event in rng.get("events") or []:
            found.update(v for v in event.values() if v != "0")
    return found


def python(snapshots: Path, root: Path, rng: random.Random) -> None:
    versions: dict[str, set[str]] = {}
    for _, data in members(snapshots, "pypa", r"vulns/[^/]+/[^/]+\.ya?ml$"):
        record = yaml.load(data, Loader=LOADER)
        for affected in record.get("affected") or []:
            name = affected["package"]["name"]
            versions.setdefault(name, set()).update(osv_bounds(affected))
    names = sorted(versions)
    rng.shuffle(names)
    count = 0
    for name in names[:250]:
        chosen = sorted(versions[name])
        rng.shuffle(chosen)
        for version in chosen[:6]:
            try:
                Version(version)
            except InvalidVersion:
                continue
            count += 1
            info = root / f"opt/py{count}/site-packages/{name}-{version}.dist-info"
            info.mkdir(parents=True)
            (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")


def npm(snapshots: Path, root: Path) -> None:
    count = 0
    for _, data in members(snapshots, "nodejs-wg", r"vuln/npm/\d+\.json$"):
        record = json.loads(data)
        if not isinstance(record, dict) or "module_name" not in record:
            continue
        text = f"{record.get('vulnerable_versions') or ''} {record.get('patched_versions') or ''}"
        for version in sorted(set(re.findall(r"\d+\.\d+\.\d+(?:-[0-9A-Za-z.]+)?", text)))[:5]:
            count += 1
            module = root / f"srv/n{count}/node_modules/{record['module_name']}"
            module.mkdir(parents=True)
            (module / "package.json").write_text(json.dumps({"name": record["module_name"], "version": version}))


def cargo(snapshots: Path, root: Path) -> None:
    lock, seen = ["version = 3\n"], set()
    for _, data in members(snapshots, "rustsec", r"crates/[^/]+/RUSTSEC-[^/]+\.md$"):
        match = re.search(r"^```toml\s*\n(.*?)^```", data.decode(errors="replace"), re.S | re.M)
        try:
            record = tomllib.loads(match.group(1)) if match else None
        except tomllib.TOMLDecodeError:
            record = None
        if not record:
            continue
        name = record["advisory"]["package"]
        table = record.get("versions") or {}
        versions = set()
        for requirement in (table.get("patched") or []) + (table.get("unaffected") or []):
            for bound in re.findall(r"\d+(?:\.\d+){0,2}", requirement):
                parts = [int(p) for p in bound.split(".")] + [0, 0]
                major, minor, patch = parts[:3]
                versions.add(f"{major}.{minor}.{patch}")
                if patch:
                    versions.add(f"{major}.{minor}.{patch - 1}")
        for version in sorted(versions)[:6]:
            if (name, version) not in seen:
                seen.add((name, version))
                lock.append(f'\n[[package]]\nname = "{name}"\nversion = "{version}"\n')
    (root / "src/rust").mkdir(parents=True)
    (root / "src/rust/Cargo.lock").write_text("".join(lock))


def gems(snapshots: Path, root: Path, rng: random.Random) -> None:
    count = 0
    for _, data in members(snapshots, "rubysec", r"gems/[^/]+/[^/]+\.ya?ml$"):
        try:
            record = yaml.load(data, Loader=LOADER)
        except yaml.YAMLError:
            continue
        if rng.random() > 0.3 or not isinstance(record, dict) or "gem" not in record:
            continue
        requirements = (record.get("patched_versions") or []) + (record.get("unaffected_versions") or [])
        versions = {v for r in requirements for v in re.findall(r"\d+(?:\.\d+)*", r)}
        for version in sorted(versions)[:4]:
            count += 1
            app = root / f"app/g{count}"
            app.mkdir(parents=True)
            (app / "Gemfile.lock").write_text(
                f"GEM\n  remote: https://gems.example.invalid/\n  specs:\n    {record['gem']} ({version})\n\n"
                f"PLATFORMS\n  ruby\n\nDEPENDENCIES\n  {record['gem']}\n")


def go(snapshots: Path, root: Path, rng: random.Random) -> None:
    count = 0
    for _, data in members(snapshots, "go-vulndb", r"data/osv/GO-[^/]+\.json$"):
        record = json.loads(data)
        if rng.random() > 0.15:
            continue
        for affected in record.get("affected") or []:
            name = affected["package"]["name"]
            if name in ("stdlib", "toolchain"):
                continue
            for version in sorted(osv_bounds(affected))[:4]:
                count += 1
                module = root / f"go/m{count}"
                module.mkdir(parents=True)
                (module / "go.mod").write_text(
                    f"module example.invalid/m{count}\n\ngo 1.21\n\nrequire {name} v{version}\n")


def main() -> int:
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    snapshots, root = Path(sys.argv[1]), Path(sys.argv[2])
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    rng = random.Random(7)
    python(snapshots, root, rng)
    npm(snapshots, root)
    cargo(snapshots, root)
    gems(snapshots, root, rng)
    go(snapshots, root, rng)
    return 0


if __name__ == "__main__":
    sys.exit(main())
