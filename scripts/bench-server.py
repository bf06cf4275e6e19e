#!/usr/bin/env python3
"""Benchmark `portcullis server` against the reference registry, same machine, same run.

Usage: scripts/bench-server.py [--images DIR] [--rounds N] [--check]

Builds the release binary, an advisory index from ../shared/vulndata, and starts, each on
its own loopback port and temporary storage:
- the reference registry (Debian's `docker-registry`, the CNCF distribution registry),
  without authentication;
- `portcullis server` with its defaults (authentication by the Docker token flow, SQLite,
  local blobs, one scan worker) and an organisation policy that passes.

Then, round by round (interleaved, each push to a new repository, skopeo with an empty
blob-info cache entry for either registry, so that every byte is uploaded):
- `skopeo copy` of the real test image (OCI layout) to each registry: the push time;
- on portcullis, the time from the end of the push to the image's promotion (warm index);
- `skopeo copy` back from each into a new OCI layout: the pull time (portcullis: from
  `scanned/`, after promotion).

Targets (issue 8): push and pull ratios portcullis / reference <= 1.0; push end to
promotion < 2 s. With --check, exits 1 unless they hold.
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from benchlib import TOKEN, api, build_index, free_port, release_binary, wait_port

OPEN_POLICY = "apiVersion: portcullis.dev/v1\nkind: Policy\nmetadata: { name: open }\nspec:\n  stages: [{ name: prod }]\n"








def skopeo(args, home):
    # A fresh HOME: no blob-info cache, so no push is shortened by an earlier one.
    env = dict(os.environ, HOME=home)
    t = time.perf_counter()
    subprocess.run(["skopeo", "copy", "-q", "--retry-times", "0"] + args, check=True, env=env)
    return time.perf_counter() - t


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--images", default=os.environ.get("PORTCULLIS_TEST_IMAGES", os.path.expanduser("~/pcdata/img")))
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args()
    source = f"oci:{os.path.join(args.images, 'oci')}:bookworm-vuln"

    binary = release_binary()
    work = tempfile.mkdtemp(prefix="portcullis-bench-server-")
    procs = []
    try:
        home = os.path.join(work, "home")
        build_index(binary, home)

        def start_pair(n):
            """Both registries on new ports and empty storage: skopeo's blob-info cache
            (kept per host:port) cannot turn a push into a cross-repository mount."""
            ref_port = free_port()
            config = os.path.join(work, f"registry-{n}.yml")
            with open(config, "w") as f:
                f.write(f"version: 0.1\nlog: {{ level: error }}\nstorage:\n  filesystem: {{ rootdirectory: {work}/ref-{n} }}\nhttp:\n  addr: 127.0.0.1:{ref_port}\n")
            ref = subprocess.Popen(["docker-registry", "serve", config], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            pc_port = free_port()
            env = dict(os.environ, PORTCULLIS_BOOTSTRAP_TOKEN=TOKEN, PORTCULLIS_HOME=home)
            pc = subprocess.Popen([binary, "server", "--listen", f"127.0.0.1:{pc_port}", "--data-dir", os.path.join(work, f"pc-{n}")],
                                  env=env, stdout=subprocess.DEVNULL, stderr=open(os.path.join(work, f"server-{n}.log"), "w"))
            procs.extend([ref, pc])
            wait_port(ref_port)
            wait_port(pc_port)
            status, body = api(pc_port, "PUT", "/api/v1/policies/organisation", OPEN_POLICY.encode(), "application/yaml")
            assert status == 200, (status, body)
            assert api(pc_port, "POST", "/api/v1/teams", b'{"name":"bench"}')[0] == 201
            return ref_port, pc_port, [ref, pc]

        times = {k: [] for k in ["ref_push", "pc_push", "promotion", "ref_pull", "pc_pull"]}
        creds = ["--dest-creds", f"admin:{TOKEN}"]
        for i in range(args.rounds):
            ref_port, pc_port, pair = start_pair(i)
            h = tempfile.mkdtemp(dir=work)
            repo = f"unscanned/bench/app-{i}"
            times["ref_push"].append(skopeo(["--dest-tls-verify=false", source, f"docker://127.0.0.1:{ref_port}/{repo}:v1"], h))
            h = tempfile.mkdtemp(dir=work)
            times["pc_push"].append(skopeo(["--dest-tls-verify=false"] + creds + [source, f"docker://127.0.0.1:{pc_port}/{repo}:v1"], h))
            pushed = time.perf_counter()
            while True:
                status, image = api(pc_port, "GET", f"/api/v1/images/lookup?repository={repo}&reference=v1")
                if status == 200 and image["state"] == "promoted":
                    break
                if status == 200 and image["state"] in ("rejected", "failed", "awaiting_approval"):
                    sys.exit(f"unexpected state: {image['state']} {image.get('reason')}")
                if time.perf_counter() - pushed > 120:
                    sys.exit("no promotion within 120 s")
                time.sleep(0.01)
            times["promotion"].append(time.perf_counter() - pushed)
            h = tempfile.mkdtemp(dir=work)
            times["ref_pull"].append(skopeo(["--src-tls-verify=false", f"docker://127.0.0.1:{ref_port}/{repo}:v1", f"oci:{h}/out:v1"], h))
            h = tempfile.mkdtemp(dir=work)
            scanned = repo.replace("unscanned/", "scanned/", 1)
            times["pc_pull"].append(skopeo(["--src-tls-verify=false", "--src-creds", f"admin:{TOKEN}", f"docker://127.0.0.1:{pc_port}/{scanned}:v1", f"oci:{h}/out:v1"], h))
            for p in pair:
                p.kill()
                p.wait()
        print("rounds (s): " + "; ".join(f"{k} " + " ".join(f"{x:.3f}" for x in v) for k, v in times.items()))
        med = {k: statistics.median(v) for k, v in times.items()}
        size = sum(os.path.getsize(os.path.join(dp, f)) for dp, _, fs in os.walk(os.path.join(args.images, "oci", "blobs")) for f in fs)
        print(f"test image: {size / 2**20:.0f} MiB of blobs; {args.rounds} rounds, medians")
        print(f"push: reference {med['ref_push']:.3f} s, portcullis {med['pc_push']:.3f} s, ratio {med['pc_push'] / med['ref_push']:.2f}")
        print(f"pull: reference {med['ref_pull']:.3f} s, portcullis {med['pc_pull']:.3f} s, ratio {med['pc_pull'] / med['ref_pull']:.2f}")
        print(f"push end -> promotion: median {med['promotion']:.3f} s, max {max(times['promotion']):.3f} s")
        ok = med["pc_push"] <= med["ref_push"] and med["pc_pull"] <= med["ref_pull"] and max(times["promotion"]) < 2.0
        if args.check and not ok:
            sys.exit(1)
    finally:
        for p in procs:
            p.kill()
            p.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
