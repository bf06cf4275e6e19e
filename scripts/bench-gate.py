#!/usr/bin/env python3
"""Time from the end of a push to `portcullis gate` printing the decision.

Usage: scripts/bench-gate.py [--images DIR] [--rounds N] [--check]

Builds the release binary and an advisory index from ../shared/vulndata, starts
`portcullis server` on a loopback port with an organisation policy that nudges on urllib3
(so the test image `bookworm-vuln` is nudged and `bookworm-vuln-deleted` passes), and
warms the index with one push. Then, round by round, each of the two images (built by
../shared/tools/make-images.sh) is pushed by skopeo to a new server with an empty data
directory (so every push is really scanned: no earlier scan or cached layer) and, as soon as skopeo
returns, `portcullis gate IMAGE --timeout 0` runs as a pipeline would (no terminal). The
figure is the time from skopeo's exit to the gate's first line on stdout (the decision);
beside it, the server's own push-to-decision time (decidedAt - pushedAt), so the ratio
shows what the gate adds (process start, polling, the reports it fetches).

Target (issue 9): under 3 s with a warm index. With --check, exits 1 unless it holds.
"""
import argparse
import datetime
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from benchlib import TOKEN, api, build_index, free_port, release_binary, wait_port

POLICY = ("apiVersion: portcullis.dev/v1\nkind: Policy\nmetadata: { name: bench }\nspec:\n  stages:\n"
          "    - name: prod\n      rules:\n        - { name: urllib3-review, when: { packages: [urllib3] }, action: nudge }\n")






def ts(s):
    return datetime.datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--images", default=os.environ.get("PORTCULLIS_TEST_IMAGES", os.path.expanduser("~/pcdata/img")))
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args()

    binary = release_binary()
    work = tempfile.mkdtemp(prefix="portcullis-bench-gate-")
    servers = []
    try:
        home = os.path.join(work, "home")
        build_index(binary, home)
        servers = []

        def start_server(n):
            """A new server and data directory: nothing scanned, no layer cached."""
            port = free_port()
            env = dict(os.environ, PORTCULLIS_BOOTSTRAP_TOKEN=TOKEN, PORTCULLIS_HOME=home)
            proc = subprocess.Popen([binary, "server", "--listen", f"127.0.0.1:{port}", "--data-dir", os.path.join(work, f"data-{n}")],
                                    env=env, stdout=subprocess.DEVNULL, stderr=open(os.path.join(work, f"server-{n}.log"), "w"))
            servers.append(proc)
            wait_port(port)
            assert api(port, "PUT", "/api/v1/policies/organisation", POLICY.encode(), "application/yaml")[0] == 200
            assert api(port, "POST", "/api/v1/teams", b'{"name":"bench"}')[0] == 201
            return port, proc

        def round_trip(n, tag, repo):
            port, proc = start_server(n)
            gate_env = dict(os.environ, PORTCULLIS_SERVER=f"http://127.0.0.1:{port}", PORTCULLIS_TOKEN=TOKEN)
            source = f"oci:{os.path.join(args.images, 'oci')}:{tag}"
            subprocess.run(["skopeo", "copy", "-q", "--retry-times", "0", "--dest-tls-verify=false", "--dest-creds", f"admin:{TOKEN}",
                            source, f"docker://127.0.0.1:{port}/{repo}:v1"], check=True, env=dict(os.environ, HOME=tempfile.mkdtemp(dir=work)))
            pushed = time.perf_counter()
            gate = subprocess.Popen([binary, "gate", f"127.0.0.1:{port}/{repo}:v1", "--timeout", "0"], env=gate_env,
                                    stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
            first = gate.stdout.readline()
            printed = time.perf_counter() - pushed
            gate.stdout.read()
            code = gate.wait()
            status, image = api(port, "GET", f"/api/v1/images/lookup?repository={repo}&reference=v1")
            server_side = ts(image["decidedAt"]) - ts(image["pushedAt"])
            proc.kill()
            proc.wait()
            return printed, server_side, code, first.decode().strip()

        # The index is warm (built, and read once) before the rounds.
        round_trip("warm", "bookworm-vuln-deleted", "unscanned/bench/warm")
        rows = {"pass": [], "nudge": []}
        for i in range(args.rounds):
            for kind, tag, expect in [("pass", "bookworm-vuln-deleted", 0), ("nudge", "bookworm-vuln", 3)]:
                printed, server_side, code, first = round_trip(f"{kind}-{i}", tag, f"unscanned/bench/{kind}-{i}")
                if code != expect:
                    sys.exit(f"{kind}: the gate exited {code}, expected {expect}: {first}")
                rows[kind].append((printed, server_side))
        for kind, r in rows.items():
            printed = [p for p, _ in r]
            server_side = [s for _, s in r]
            print(f"{kind}: push end -> decision printed: median {statistics.median(printed):.3f} s, max {max(printed):.3f} s; "
                  f"server push -> decision median {statistics.median(server_side):.3f} s; "
                  f"ratio gate/server {statistics.median(printed) / max(statistics.median(server_side), 0.001):.2f} ({args.rounds} rounds)")
        worst = max(p for r in rows.values() for p, _ in r)
        print(f"worst: {worst:.3f} s (target < 3 s)")
        if args.check and worst >= 3.0:
            sys.exit(1)
    finally:
        for proc in servers:
            proc.kill()
            proc.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
