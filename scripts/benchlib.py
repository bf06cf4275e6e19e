"""What the server benchmarks share: the release binary, the advisory index, loopback ports
and the JSON API (`scripts/bench-server.py`, `scripts/bench-gate.py`)."""
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOKEN = "pct_bench-admin-token-0123456789abcdef"
SOURCES = ["pypa", "go-vulndb", "rustsec", "rubysec", "nodejs-wg", "cisa-kev", "debian-dsa-dla"]


def release_binary():
    """Builds the release binary and returns its path."""
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "portcullis-cli"], cwd=ROOT, check=True)
    return os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target")), "release", "portcullis")


def build_index(binary, home):
    """Compiles the advisory index from ../shared/vulndata into `home`."""
    cmd = [binary, "db", "update", "-q", "--home", home]
    for name in SOURCES:
        cmd += ["--source", os.path.join(ROOT, "..", "shared", "vulndata", f"{name}.tar.gz")]
    subprocess.run(cmd, check=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    sys.exit(f"nothing listens on {port}")


def api(port, method, path, body=None, content_type="application/json"):
    """One API call as the bootstrap admin: (status, JSON)."""
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method, data=body)
    req.add_header("Authorization", f"Bearer {TOKEN}")
    if body is not None:
        req.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(req) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")
