#!/usr/bin/env python3
"""An independent evaluation of which advisories affect an image's language packages.

Input: the image's SBOM in portcullis' native JSON (`portcullis sbom IMAGE --format json`,
see crates/sbom/FORMAT.md) and the advisory snapshots as their projects publish them
(the *.tar.gz of ../shared/vulndata). Output: the set of
(ecosystem, package, version, advisory ID) that affect the image, computed without any
portcullis code, with each ecosystem's own tools deciding versions:

| SBOM ecosystem | data | decision |
|---|---|---|
| python | PyPA advisory database (OSV YAML) | names equal after `packaging.utils.canonicalize_name`; affected when the record's explicit `versions` list holds an equal `packaging.version.Version`, or (as the OSV specification says: listed *or* in a range) when an ECOSYSTEM range holds it, walked with events sorted by `packaging` order; where list and ranges disagree a note says so |
| go | Go vulnerability database (OSV JSON) | SEMVER ranges walked by scripts/oracle/osv_semver.go with the Go project's `golang.org/x/mod/semver` |
| cargo | RustSec advisory-db | affected unless a `[versions] patched` or `unaffected` requirement matches, evaluated by npm's `semver` on the requirement translated from Cargo syntax (see `cargo_to_npm_range`) |
| gem | ruby-advisory-db | affected unless a `patched_versions` or `unaffected_versions` requirement matches, evaluated by RubyGems' own `Gem::Requirement` (scripts/oracle/rubygems.rb), as bundler-audit does |
| npm | Node.js security working group (`vuln/npm/*.json`) | `semver.satisfies(version, vulnerable_versions)` and not `semver.satisfies(version, patched_versions)`, with npm's `semver` (scripts/oracle/node_semver.js) |

Decisions a user would expect, and that this oracle takes:
- Withdrawn records (OSV `withdrawn`, RustSec `withdrawn`) affect nothing: their publisher
  retracted them. They are listed under `withdrawn` in the JSON output, for the record.
- Informational RustSec advisories (`informational = "unmaintained" | "unsound" | "notice"`)
  are included and marked `informational` (portcullis reports them as findings with a note);
  `--rustsec-informational exclude` leaves them out.
- KEV, EPSS and other enrichment data change no membership; their snapshots are accepted
  and ignored.
- A package version that the ecosystem's tool cannot read (a Go main module built as
  `(devel)`) cannot be decided and is listed under `undecided`, never guessed.
- Advisory IDs are the publishers': PYSEC-…, GO-…, RUSTSEC-…, the ruby-advisory-db file
  name (`CVE-…`, `GHSA-…`, `OSVDB-…`), and `NSWG-ECO-<n>` for the working group's file
  `npm/<n>.json` (the names its README gives).

Usage:
  scripts/oracle-scan.py --sbom sbom.json --snapshot ../shared/vulndata/pypa.tar.gz ... \
      [--tools-dir DIR] [--node-semver DIR] [--format json|tsv] [-o FILE]

Needs python3 with `packaging` and `pyyaml`, go with golang-golang-x-mod-dev (Debian,
under /usr/share/gocode), node with npm's `semver` (installed with npm into --node-semver
when missing), and ruby. Exit codes: 0 success, 2 error.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tomllib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import yaml
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

HERE = Path(__file__).resolve().parent / "oracle"
GOCODE = "/usr/share/gocode"
SEMVER_PACKAGE = "semver@7.8.6"
LANGUAGES = ("python", "npm", "go", "cargo", "gem")


class OracleError(Exception):
    """A failure that stops the evaluation (a tool missing or failing)."""


@dataclass(frozen=True, order=True)
class Hit:
    ecosystem: str
    name: str
    version: str
    advisory: str
    source: str
    evidence: str
    informational: str = ""
    aliases: tuple[str, ...] = ()


@dataclass
class Result:
    affected: set[Hit] = field(default_factory=set)
    withdrawn: set[Hit] = field(default_factory=set)
    undecided: set[tuple[str, str, str, str]] = field(default_factory=set)
    notes: set[str] = field(default_factory=set)


# ---------------------------------------------------------------- snapshots


def snapshot_members(paths: list[Path]) -> dict[str, list[tuple[str, bytes]]]:
    """Reads the advisory files of every snapshot, grouped by the source they belong to
    (recognised by their path inside the archive, not by the archive's name)."""
    patterns = {
        "pypa": re.compile(r"(^|/)vulns/[^/]+/[^/]+\.ya?ml$"),
        "go-vulndb": re.compile(r"(^|/)data/osv/GO-[^/]+\.json$"),
        "rustsec": re.compile(r"(^|/)crates/[^/]+/RUSTSEC-[^/]+\.md$"),
        "rubysec": re.compile(r"(^|/)gems/[^/]+/[^/]+\.ya?ml$"),
        "nodejs-wg": re.compile(r"(^|/)vuln/npm/\d+\.json$"),
    }
    found: dict[str, list[tuple[str, bytes]]] = {name: [] for name in patterns}
    for path in paths:
        try:
            with tarfile.open(path, "r:*") as archive:
                for member in archive:
                    if not member.isfile():
                        continue
                    for source, pattern in patterns.items():
                        if pattern.search(member.name):
                            handle = archive.extractfile(member)
                            if handle is not None:
                                found[source].append((member.name, handle.read()))
                            break
        except (OSError, tarfile.TarError) as error:
            raise OracleError(f"failed to read snapshot `{path}`: {error}") from error
    for files in found.values():
        files.sort()
    return found


# ---------------------------------------------------------------- tools


def run_tool(argv: list[str], checks: list, env: dict[str, str] | None = None) -> list[str]:
    """Runs a helper that reads {"checks": [...]} and answers one string per check."""
    if not checks:
        return []
    try:
        done = subprocess.run(
            argv,
            input=json.dumps({"checks": checks}).encode(),
            capture_output=True,
            env=env,
            check=False,
        )
    except OSError as error:
        raise OracleError(f"failed to run {argv[0]}: {error}") from error
    if done.returncode != 0:
        raise OracleError(f"{' '.join(argv)} failed: {done.stderr.decode(errors='replace')}")
    answers = json.loads(done.stdout)
    if len(answers) != len(checks):
        raise OracleError(f"{argv[0]} answered {len(answers)} of {len(checks)} checks")
    return answers


def go_oracle(tools_dir: Path) -> list[str]:
    """Builds scripts/oracle/osv_semver.go offline (GOPATH mode, no module proxy)."""
    if shutil.which("go") is None:
        raise OracleError("`go` is not installed; run `apt-get install -y golang-go golang-golang-x-mod-dev`")
    if not Path(GOCODE, "src/golang.org/x/mod/semver/semver.go").is_file():
        raise OracleError(f"golang.org/x/mod is missing from {GOCODE}; run `apt-get install -y golang-golang-x-mod-dev`")
    program = (HERE / "osv_semver.go").read_bytes()
    digest = hashlib.sha256(program).hexdigest()[:16]
    binary = tools_dir / f"osv-semver-{digest}"
    if not binary.is_file():
        gopath = tools_dir / "gopath"
        source = gopath / "src" / "osvsemver"
        source.mkdir(parents=True, exist_ok=True)
        (source / "main.go").write_bytes(program)
        env = dict(os.environ, GO111MODULE="off", GOPATH=f"{GOCODE}:{gopath}",
                   GOCACHE=str(tools_dir / "go-cache"), GOFLAGS="", GOPROXY="off")
        built = subprocess.run(["go", "build", "-o", str(binary), "osvsemver"],
                               capture_output=True, env=env, check=False)
        if built.returncode != 0:
            raise OracleError(f"go build of osv_semver.go failed: {built.stderr.decode(errors='replace')}")
    return [str(binary)]


def node_oracle(node_semver: Path) -> list[str]:
    """npm's `semver`, installed with npm into the prefix above `node_semver` when missing."""
    if shutil.which("node") is None:
        raise OracleError("`node` is not installed; run `apt-get install -y nodejs npm`")
    if not (node_semver / "package.json").is_file():
        if node_semver.parent.name != "node_modules" or node_semver.name != "semver":
            raise OracleError(f"--node-semver must name a `node_modules/semver` directory, not `{node_semver}`")
        if shutil.which("npm") is None:
            raise OracleError("`npm` is not installed; run `apt-get install -y npm`")
        prefix = node_semver.parent.parent
        installed = subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", "--prefix", str(prefix), SEMVER_PACKAGE],
            capture_output=True, check=False)
        if installed.returncode != 0 or not (node_semver / "package.json").is_file():
            raise OracleError(f"`npm install {SEMVER_PACKAGE}` failed: {installed.stderr.decode(errors='replace')}")
    return ["node", str(HERE / "node_semver.js"), str(node_semver)]


def ruby_oracle() -> list[str]:
    if shutil.which("ruby") is None:
        raise OracleError("`ruby` is not installed; run `apt-get install -y ruby`")
    return ["ruby", str(HERE / "rubygems.rb")]


def answer_is_true(answer: str) -> bool | None:
    """"true"/"false", or None for an answer the tool could not give."""
    return {"true": True, "false": False}.get(answer)


# ---------------------------------------------------------------- PyPA


def pep440(text: str) -> Version | None:
    try:
        return Version(text)
    except InvalidVersion:
        return None


def osv_range_contains(version: Version, events: list[dict]) -> bool | str:
    """The OSV specification's walk over one ECOSYSTEM range, with `packaging` ordering.
    Returns a reason string when an event's version is not PEP 440."""
    keyed: list[tuple[Version | None, str]] = []
    for event in events:
        if len(event) != 1:
            return f"event {event!r} is not one key"
        [(kind, value)] = event.items()
        if kind == "limit":
            continue  # limits bound git ranges only
        if kind == "introduced" and value == "0":
            keyed.append((None, kind))  # before every version
            continue
        parsed = pep440(value)
        if parsed is None:
            return f"{kind} version `{value}` is not PEP 440"
        keyed.append((parsed, kind))
    # Sorted by version ("0" first); Python's sort is stable, so ties keep file order.
    keyed.sort(key=lambda item: (item[0] is not None, item[0] or Version("0")))
    vulnerable = False
    for bound, kind in keyed:
        if kind == "introduced":
            if bound is None or version >= bound:
                vulnerable = True
        elif kind == "fixed":
            if version >= bound:
                vulnerable = False
        elif kind == "last_affected":
            if version > bound:
                vulnerable = False
    return vulnerable


def evaluate_pypa(files, packages, result: Result) -> None:
    wanted: dict[str, list[tuple[str, str]]] = {}
    for name, version in packages:
        wanted.setdefault(canonicalize_name(name), []).append((name, version))
    for path, data in files:
        # Names appear in the file's text, so skip the YAML parse of the rest cheaply.
        lowered = data.decode("utf-8", errors="replace").lower()
        if not any(key in lowered.replace("_", "-").replace(".", "-") for key in wanted):
            continue
        try:
            record = yaml.load(data, Loader=yaml.CBaseLoader if hasattr(yaml, "CBaseLoader") else yaml.BaseLoader)
        except yaml.YAMLError as error:
            result.notes.add(f"pypa {path}: unreadable YAML: {error}")
            continue
        if not isinstance(record, dict):
            continue
        advisory = record.get("id") or PurePosixPath(path).stem
        aliases = tuple(sorted(a for a in (record.get("aliases") or []) if isinstance(a, str)))
        for affected in record.get("affected") or []:
            package = affected.get("package") or {}
            if package.get("ecosystem") != "PyPI":
                continue
            key = canonicalize_name(package.get("name", ""))
            for name, version_text in wanted.get(key, []):
                version = pep440(version_text)
                if version is None:
                    result.undecided.add(("python", name, version_text, "not a PEP 440 version"))
                    continue
                listed = [v for v in affected.get("versions") or [] if pep440(v) == version]
                ranges = [r for r in affected.get("ranges") or [] if r.get("type") == "ECOSYSTEM"]
                in_range = None
                for rng in ranges:
                    answer = osv_range_contains(version, rng.get("events") or [])
                    if isinstance(answer, str):
                        result.notes.add(f"pypa {advisory} {name}: range not evaluated: {answer}")
                        continue
                    in_range = bool(in_range) or answer
                if not affected.get("versions") and in_range is None:
                    if not record.get("withdrawn"):
                        result.undecided.add(("python", name, version_text,
                                              f"{advisory}: no versions list and no evaluable ECOSYSTEM range"))
                    continue
                # OSV: affected when listed or inside a range. The list is the primary
                # evidence; a range decides alone only for versions the list does not
                # name (the list enumerates PyPI's releases, so a build from elsewhere,
                # or a release published after the record, is absent from it).
                is_affected = bool(listed) or bool(in_range)
                evidence = f"listed version {listed[0]}" if listed else "ECOSYSTEM range"
                if affected.get("versions") and in_range is not None and in_range != bool(listed):
                    result.notes.add(
                        f"pypa {advisory} {name} {version_text}: the versions list says "
                        f"{'affected' if listed else 'not affected'}, the ranges say "
                        f"{'affected' if in_range else 'not affected'}")
                if is_affected:
                    hit = Hit("python", name, version_text, advisory, "pypa", evidence, aliases=aliases)
                    (result.withdrawn if record.get("withdrawn") else result.affected).add(hit)


# ---------------------------------------------------------------- Go


def go_module_version(name: str, version: str) -> str | None:
    """The x/mod spelling of an SBOM Go version: modules already carry `v`; the toolchain
    (`stdlib`) is `go1.19.8`, `go1.21rc2`, `go1.20`, which the Go project's own
    golang.org/x/vuln maps to v1.19.8, v1.21.0-rc.2, v1.20.0."""
    if name == "stdlib" or version.startswith("go"):
        match = re.fullmatch(r"go(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:(alpha|beta|rc)(\d+))?", version)
        if match is None:
            return None
        major, minor, patch, pre, number = match.groups()
        text = f"v{major}.{minor or 0}.{patch or 0}"
        return f"{text}-{pre}.{number}" if pre else text
    return version if version.startswith("v") else None


def evaluate_go(files, packages, tool, result: Result) -> None:
    wanted: dict[str, list[str]] = {}
    for name, version in packages:
        wanted.setdefault(name, []).append(version)
    checks, keys = [], []
    for path, data in files:
        text = data.decode("utf-8", errors="replace")
        if not any(json.dumps(name) in text for name in wanted):
            continue  # cheap filter: the module path appears as a JSON string
        record = json.loads(data)
        advisory = record.get("id") or PurePosixPath(path).stem
        aliases = tuple(sorted(record.get("aliases") or []))
        for affected in record.get("affected") or []:
            package = affected.get("package") or {}
            if package.get("ecosystem") != "Go" or package.get("name") not in wanted:
                continue
            name = package["name"]
            for version in wanted[name]:
                semver = go_module_version(name, version)
                if semver is None:
                    result.undecided.add(("go", name, version, "not a Go module or toolchain version"))
                    continue
                if any(v for v in affected.get("versions") or [] if "v" + v == semver):
                    keys.append((name, version, advisory, aliases, record.get("withdrawn"), "listed version"))
                    checks.append({"version": semver, "events": [{"introduced": "0"}]})
                for rng in affected.get("ranges") or []:
                    if rng.get("type") != "SEMVER":
                        continue
                    keys.append((name, version, advisory, aliases, record.get("withdrawn"), "SEMVER range"))
                    checks.append({"version": semver, "events": rng.get("events") or []})
    for (name, version, advisory, aliases, withdrawn, evidence), answer in zip(keys, run_tool(tool, checks)):
        decided = answer_is_true(answer)
        if decided is None:
            result.notes.add(f"go {advisory} {name} {version}: {answer}")
        elif decided:
            hit = Hit("go", name, version, advisory, "go-vulndb", evidence, aliases=aliases)
            (result.withdrawn if withdrawn else result.affected).add(hit)


# ---------------------------------------------------------------- RustSec


CARGO_COMPARATOR = re.compile(r"^\s*(=|>=|<=|>|<|~|\^)?\s*([0-9*xX][0-9A-Za-z.*+-]*)\s*$")


def cargo_to_npm_range(requirement: str) -> str | None:
    """Cargo's requirement syntax in npm's.

    Cargo's syntax was modelled on npm's, and for release versions their operators mean
    the same: `^` (including the 0.x and 0.0.x narrowing: ^0.2.3 := >=0.2.3 <0.3.0,
    ^0.0.3 := =0.0.3), `~`, `=`, `<`, `<=`, `>`, `>=`, and partial versions and `*`
    wildcards as X-ranges. Pre-releases follow the same rule in both (matched only by a
    comparator with a pre-release on the same major.minor.patch). Two spellings differ,
    and are translated: Cargo joins comparators with `,` where npm uses a space, and a bare
    version is a caret requirement in Cargo (`1.2.3` = `^1.2.3`) but exact in npm.
    Returns None for text that is not a Cargo requirement."""
    parts = []
    for comparator in requirement.split(","):
        match = CARGO_COMPARATOR.match(comparator)
        if match is None:
            return None
        operator, version = match.groups()
        if version in ("*", "x", "X"):
            parts.append("*")
            continue
        parts.append(f"{operator or '^'}{version}")
    return " ".join(parts) if parts else None


def rustsec_front_matter(text: str) -> str | None:
    match = re.search(r"^```toml\s*\n(.*?)^```", text, re.S | re.M)
    return match.group(1) if match else None


def evaluate_rustsec(files, packages, tool, informational: str, result: Result) -> None:
    wanted: dict[str, list[str]] = {}
    for name, version in packages:
        wanted.setdefault(name, []).append(version)
    checks, keys = [], []
    decided: dict[tuple, dict] = {}
    for path, data in files:
        crate_dir = PurePosixPath(path).parent.name
        if crate_dir not in wanted:
            continue
        toml_text = rustsec_front_matter(data.decode("utf-8", errors="replace"))
        if toml_text is None:
            result.notes.add(f"rustsec {path}: no TOML front matter")
            continue
        try:
            record = tomllib.loads(toml_text)
        except tomllib.TOMLDecodeError as error:
            result.notes.add(f"rustsec {path}: invalid TOML: {error}")
            continue
        meta = record.get("advisory") or {}
        name = meta.get("package")
        if name not in wanted:
            continue
        kind = str(meta.get("informational") or "").strip()
        if kind and informational == "exclude":
            continue
        versions = record.get("versions") or {}
        requirements = list(versions.get("patched") or []) + list(versions.get("unaffected") or [])
        advisory = meta.get("id") or PurePosixPath(path).stem
        aliases = tuple(sorted(meta.get("aliases") or []))
        for version in wanted[name]:
            key = (name, version, advisory, aliases, kind, bool(meta.get("withdrawn")))
            decided[key] = {"matches": [], "bad": []}
            for requirement in requirements:
                npm_range = cargo_to_npm_range(requirement)
                if npm_range is None:
                    decided[key]["bad"].append(f"requirement `{requirement}` is not Cargo syntax")
                    continue
                keys.append((key, requirement))
                checks.append([version, npm_range])
    for (key, requirement), answer in zip(keys, run_tool(tool, checks)):
        verdict = answer_is_true(answer)
        if verdict is None:
            decided[key]["bad"].append(answer)
        elif verdict:
            decided[key]["matches"].append(requirement)
    for (name, version, advisory, aliases, kind, withdrawn), state in sorted(decided.items()):
        if state["matches"]:
            continue  # patched or unaffected
        if state["bad"]:
            result.undecided.add(("cargo", name, version, f"{advisory}: {'; '.join(state['bad'])}"))
            continue
        hit = Hit("cargo", name, version, advisory, "rustsec", "no patched or unaffected requirement matches",
                  informational=kind, aliases=aliases)
        (result.withdrawn if withdrawn else result.affected).add(hit)


# ---------------------------------------------------------------- RubySec


def evaluate_rubysec(files, packages, tool, result: Result) -> None:
    wanted: dict[str, list[str]] = {}
    for name, version in packages:
        wanted.setdefault(name, []).append(version)
    checks, keys = [], []
    decided: dict[tuple, dict] = {}
    for path, data in files:
        if PurePosixPath(path).parent.name not in wanted:
            continue
        try:
            record = yaml.load(data, Loader=yaml.CBaseLoader if hasattr(yaml, "CBaseLoader") else yaml.BaseLoader)
        except yaml.YAMLError as error:
            result.notes.add(f"rubysec {path}: unreadable YAML: {error}")
            continue
        if not isinstance(record, dict) or record.get("gem") not in wanted:
            continue
        name = record["gem"]
        advisory = PurePosixPath(path).stem
        aliases = []
        for field_name, prefix in (("cve", "CVE-"), ("ghsa", "GHSA-"), ("osvdb", "OSVDB-")):
            if record.get(field_name):
                aliases.append(prefix + str(record[field_name]))
        aliases = tuple(sorted(a for a in aliases if a != advisory))
        requirements = list(record.get("patched_versions") or []) + list(record.get("unaffected_versions") or [])
        for version in wanted[name]:
            key = (name, version, advisory, aliases)
            decided[key] = {"matches": [], "bad": []}
            for requirement in requirements:
                keys.append((key, requirement))
                checks.append([version, requirement])
    for (key, requirement), answer in zip(keys, run_tool(tool, checks)):
        verdict = answer_is_true(answer)
        if verdict is None:
            decided[key]["bad"].append(answer)
        elif verdict:
            decided[key]["matches"].append(requirement)
    for (name, version, advisory, aliases), state in sorted(decided.items()):
        if state["matches"]:
            continue
        if state["bad"]:
            result.undecided.add(("gem", name, version, f"{advisory}: {'; '.join(state['bad'])}"))
            continue
        result.affected.add(Hit("gem", name, version, advisory, "rubysec",
                                "no patched or unaffected requirement matches", aliases=aliases))


# ---------------------------------------------------------------- Node.js WG


def evaluate_nodejs(files, packages, tool, result: Result) -> None:
    wanted: dict[str, list[str]] = {}
    for name, version in packages:
        wanted.setdefault(name, []).append(version)
    checks, keys = [], []
    for path, data in files:
        try:
            record = json.loads(data)
        except json.JSONDecodeError as error:
            result.notes.add(f"nodejs-wg {path}: invalid JSON: {error}")
            continue
        if not isinstance(record, dict) or record.get("module_name") not in wanted:
            continue
        name = record["module_name"]
        advisory = f"NSWG-ECO-{PurePosixPath(path).stem}"
        aliases = tuple(sorted(c for c in record.get("cves") or [] if isinstance(c, str)))
        vulnerable = record.get("vulnerable_versions") or ""
        patched = record.get("patched_versions") or ""
        for version in wanted[name]:
            keys.append((name, version, advisory, aliases, "vulnerable"))
            checks.append([version, vulnerable])
            if patched:
                keys.append((name, version, advisory, aliases, "patched"))
                checks.append([version, patched])
    verdicts: dict[tuple, dict[str, str]] = {}
    for (name, version, advisory, aliases, which), answer in zip(keys, run_tool(tool, checks)):
        verdicts.setdefault((name, version, advisory, aliases), {})[which] = answer
    for (name, version, advisory, aliases), answers in sorted(verdicts.items()):
        vulnerable = answer_is_true(answers["vulnerable"])
        patched = answer_is_true(answers.get("patched", "false"))
        if vulnerable is None or patched is None:
            bad = [a for a in answers.values() if answer_is_true(a) is None]
            result.undecided.add(("npm", name, version, f"{advisory}: {'; '.join(bad)}"))
            continue
        if vulnerable and not patched:
            result.affected.add(Hit("npm", name, version, advisory, "nodejs-wg",
                                    "in vulnerable_versions, not in patched_versions", aliases=aliases))


# ---------------------------------------------------------------- main


def sbom_packages(sbom: dict) -> dict[str, list[tuple[str, str]]]:
    by_ecosystem: dict[str, set[tuple[str, str]]] = {e: set() for e in LANGUAGES}
    for package in sbom.get("packages") or []:
        ecosystem = package.get("ecosystem")
        if ecosystem in by_ecosystem and package.get("name") and package.get("version"):
            by_ecosystem[ecosystem].add((package["name"], package["version"]))
    return {e: sorted(v) for e, v in by_ecosystem.items()}


def evaluate(sbom: dict, snapshots: list[Path], tools_dir: Path, node_semver: Path,
             informational: str) -> Result:
    members = snapshot_members(snapshots)
    packages = sbom_packages(sbom)
    result = Result()
    if packages["python"] and members["pypa"]:
        evaluate_pypa(members["pypa"], packages["python"], result)
    if packages["go"] and members["go-vulndb"]:
        evaluate_go(members["go-vulndb"], packages["go"], go_oracle(tools_dir), result)
    node = None
    if packages["cargo"] and members["rustsec"]:
        node = node_oracle(node_semver)
        evaluate_rustsec(members["rustsec"], packages["cargo"], node, informational, result)
    if packages["gem"] and members["rubysec"]:
        evaluate_rubysec(members["rubysec"], packages["gem"], ruby_oracle(), result)
    if packages["npm"] and members["nodejs-wg"]:
        evaluate_nodejs(members["nodejs-wg"], packages["npm"], node or node_oracle(node_semver), result)
    result.notes.update(f"no {source} advisories in the snapshots" for source, files in members.items() if not files)
    return result


def render(result: Result, output_format: str) -> str:
    if output_format == "tsv":
        return "".join(f"{h.ecosystem}\t{h.name}\t{h.version}\t{h.advisory}\n" for h in sorted(result.affected))

    def hit(h: Hit) -> dict:
        out = {"ecosystem": h.ecosystem, "name": h.name, "version": h.version, "advisory": h.advisory,
               "source": h.source, "evidence": h.evidence}
        if h.aliases:
            out["aliases"] = list(h.aliases)
        if h.informational:
            out["informational"] = h.informational
        return out

    document = {
        "schema": "portcullis-oracle/1",
        "affected": [hit(h) for h in sorted(result.affected)],
        "withdrawn": [hit(h) for h in sorted(result.withdrawn)],
        "undecided": [{"ecosystem": e, "name": n, "version": v, "reason": r}
                      for e, n, v, r in sorted(result.undecided)],
        "notes": sorted(result.notes),
    }
    return json.dumps(document, indent=2) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sbom", required=True, help="portcullis' native SBOM JSON (`-` for stdin)")
    parser.add_argument("--snapshot", action="append", default=[], type=Path,
                        help="an advisory snapshot archive (repeat)")
    parser.add_argument("--tools-dir", type=Path, default=Path(os.environ.get("TMPDIR", "/tmp")) / "portcullis-oracle",
                        help="where the Go helper is built (cached)")
    parser.add_argument("--node-semver", type=Path, default=None,
                        help="a node_modules/semver directory (default: under --tools-dir; installed with npm when missing)")
    parser.add_argument("--rustsec-informational", choices=("include", "exclude"), default="include")
    parser.add_argument("--format", choices=("json", "tsv"), default="json")
    parser.add_argument("-o", "--output", type=Path, default=None)
    args = parser.parse_args()
    try:
        text = sys.stdin.read() if args.sbom == "-" else Path(args.sbom).read_text()
        sbom = json.loads(text)
        if not args.snapshot:
            raise OracleError("give at least one --snapshot")
        args.tools_dir.mkdir(parents=True, exist_ok=True)
        node_semver = args.node_semver or args.tools_dir / "npm" / "node_modules" / "semver"
        result = evaluate(sbom, args.snapshot, args.tools_dir.resolve(), node_semver.resolve(),
                          args.rustsec_informational)
        rendered = render(result, args.format)
    except (OSError, json.JSONDecodeError, OracleError) as error:
        print(f"oracle-scan: {error}", file=sys.stderr)
        return 2
    if args.output:
        args.output.write_text(rendered)
    else:
        sys.stdout.write(rendered)
    for note in sorted(result.notes):
        print(f"note: {note}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
