#!/usr/bin/env python3
"""Benchmark `portcullis scan` against `portcullis sbom` and Trivy's SBOM run, same input, same run.

Usage: scripts/bench-scan.py [--images DIR] [--runs N] [--check]

Input: the OCI layout of the real image that ../shared/tools/make-images.sh builds
(scripts/test.sh builds it into $PORTCULLIS_TEST_IMAGES, default ~/pcdata/img). The advisory
index is built first from ../shared/vulndata with `portcullis db update --source`.

Measured, interleaved round by round (helpers shared with scripts/bench-sbom.py):
- a first scan: the layer cache emptied before each run, so every layer is decoded;
- a second scan of the same image: every layer from the cache;
- `portcullis sbom` on the same image, and Trivy's CycloneDX SBOM run (a fresh cache each time).

Targets (issue 6): first scan <= 1.5 x sbom and <= 0.5 x Trivy; second scan < 50 ms;
peak RSS < 150 MiB. With --check, exits 1 unless they hold.
"""
import argparse
import glob
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_spec = importlib.util.spec_from_file_location("bench_sbom", os.path.join(ROOT, "scripts", "bench-sbom.py"))
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--images", default=os.environ.get("PORTCULLIS_TEST_IMAGES", os.path.expanduser("~/pcdata/img")))
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--check", action="store_true", help="exit 1 unless the targets hold")
    args = ap.parse_args()

    oci = os.path.join(args.images, "oci")
    if not os.path.isdir(oci):
        sys.exit(f"no test image in {args.images}; run ./scripts/test.sh (or ../shared/tools/make-images.sh)")
    subprocess.run(["cargo", "build", "--release", "--locked", "-q", "-p", "portcullis-cli"], cwd=ROOT, check=True)
    portcullis = os.path.join(ROOT, "target", "release", "portcullis")
    trivy = bench.find_trivy()

    work = tempfile.mkdtemp(prefix="portcullis-bench-scan-")
    home = os.path.join(work, "home")
    feeds = sorted(glob.glob(os.path.join(ROOT, "..", "shared", "vulndata", "*.tar.gz")))
    update = [portcullis, "db", "update", "-q"]
    for f in feeds:
        update += ["--source", f]
    subprocess.run(update, check=True, env=dict(os.environ, PORTCULLIS_HOME=home))
    single = os.path.join(work, "oci-single")
    subprocess.run(["skopeo", "copy", "-q", f"oci:{oci}:bookworm-vuln", f"oci:{single}:bookworm-vuln"], check=True)

    image = f"oci:{oci}:bookworm-vuln"
    env = dict(os.environ, PORTCULLIS_HOME=home)
    cache = os.path.join(home, "cache")
    scan = [portcullis, "scan", "-q", "--format", "json", "-o", os.devnull, image]

    def first():
        shutil.rmtree(cache, ignore_errors=True)
        return scan

    tools = [
        ("portcullis scan, first", first, env, args.runs),
        ("portcullis scan, second", lambda: scan, env, args.runs),
        ("portcullis sbom", lambda: [portcullis, "sbom", "-q", "--format", "cyclonedx", "-o", os.devnull, image], env, args.runs),
        ("trivy sbom", lambda: [trivy, "image", "--input", single, "--format", "cyclonedx", "--offline-scan",
                                "--skip-db-update", "--skip-dirs", "/opt/app/lib", "-q",
                                "--cache-dir", tempfile.mkdtemp(dir=work), "-o", os.devnull], None, args.runs),
    ]
    # The second scan must follow a run that filled the cache: `first` runs right before it in
    # every round, and the warm-up runs every tool once in this order.
    rows = bench.measure_interleaved(tools, args.runs)
    by = {r["name"]: r for r in rows}
    first_row, second_row = by["portcullis scan, first"], by["portcullis scan, second"]
    print(f"\n{'':34} {'median s':>9} {'min s':>7} {'peak MiB':>9}")
    for r in rows:
        print(f"  {r['name']:32} {r['wall']:9.3f} {r['min']:7.3f} {r['rss']:9.1f}")
    vs_sbom = first_row["wall"] / by["portcullis sbom"]["wall"]
    vs_trivy = first_row["wall"] / by["trivy sbom"]["wall"]
    print(f"\nfirst scan / sbom: {vs_sbom:.2f} (target <= 1.5)")
    print(f"first scan / trivy sbom: {vs_trivy:.2f} (target <= 0.5)")
    print(f"second scan: {second_row['wall'] * 1000:.0f} ms (target < 50 ms)")
    peak = max(first_row["rss"], second_row["rss"])
    print(f"peak RSS of scans: {peak:.1f} MiB (target < 150 MiB)")
    ok = vs_sbom <= 1.5 and vs_trivy <= 0.5 and second_row["wall"] < 0.05 and peak < 150
    print("targets:", "met" if ok else "NOT met")
    shutil.rmtree(work, ignore_errors=True)
    if args.check and not ok:
        sys.exit(1)


if __name__ == "__main__":
    main()
