//! `portcullis scan` as a user runs it on the real test image, with the index
//! built from `../shared/vulndata`: priority order, filters and exit codes,
//! every output format, the layer cache, and base-image layer roles.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, ensure};
use serde_json::{Value, json};

use crate::harness::{portcullis, run_ok, test_images};

fn vulndata(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/vulndata")
        .join(format!("{name}.tar.gz"))
}

fn scan(home: &Path) -> Command {
    let mut cmd = portcullis();
    cmd.env("PORTCULLIS_HOME", home).arg("scan");
    cmd
}

fn index(home: &Path) -> anyhow::Result<()> {
    let mut cmd = portcullis();
    cmd.env("PORTCULLIS_HOME", home)
        .args(["db", "update", "-q"]);
    for name in [
        "pypa",
        "go-vulndb",
        "rustsec",
        "rubysec",
        "nodejs-wg",
        "cisa-kev",
        "debian-dsa-dla",
    ] {
        cmd.arg("--source").arg(vulndata(name));
    }
    run_ok(&mut cmd)?;
    Ok(())
}

/// A scan's surroundings: the real test image, a temporary home with an index.
struct Setup {
    images: PathBuf,
    dir: tempfile::TempDir,
    home: PathBuf,
    image: String,
}

fn setup() -> anyhow::Result<Setup> {
    let images = test_images()?;
    let dir = tempfile::tempdir()?;
    let home = dir.path().join("home");
    index(&home)?;
    let image = format!("oci:{}:bookworm-vuln", images.join("oci").display());
    Ok(Setup {
        images,
        dir,
        home,
        image,
    })
}

/// An OCI layout holding `layers` of the test image (a base image when they are the bottom ones).
fn base_layout(
    images: &Path,
    dir: &Path,
    layers: std::ops::Range<usize>,
) -> anyhow::Result<String> {
    let oci = images.join("oci");
    let index: Value = serde_json::from_slice(&std::fs::read(oci.join("index.json"))?)?;
    let descriptor = index["manifests"]
        .as_array()
        .context("manifests")?
        .iter()
        .find(|m| m["annotations"]["org.opencontainers.image.ref.name"] == "bookworm-vuln")
        .context("bookworm-vuln in index.json")?;
    let blob = |digest: &str| oci.join("blobs").join(digest.replacen(':', "/", 1));
    let manifest: Value = serde_json::from_slice(&std::fs::read(blob(
        descriptor["digest"].as_str().context("digest")?,
    ))?)?;
    let config: Value = serde_json::from_slice(&std::fs::read(blob(
        manifest["config"]["digest"].as_str().context("config")?,
    ))?)?;
    std::fs::create_dir_all(dir.join("blobs/sha256"))?;
    let write_blob = |bytes: &[u8]| -> anyhow::Result<(String, usize)> {
        use sha2::Digest as _;
        let hex = hex::encode(sha2::Sha256::digest(bytes));
        std::fs::write(dir.join("blobs/sha256").join(&hex), bytes)?;
        Ok((format!("sha256:{hex}"), bytes.len()))
    };
    let kept: Vec<Value> =
        manifest["layers"].as_array().context("layers")?[layers.clone()].to_vec();
    for layer in &kept {
        let digest = layer["digest"].as_str().context("layer digest")?;
        std::fs::copy(
            blob(digest),
            dir.join("blobs").join(digest.replacen(':', "/", 1)),
        )?;
    }
    let mut base_config = config.clone();
    base_config["rootfs"]["diff_ids"] = json!(
        config["rootfs"]["diff_ids"]
            .as_array()
            .context("diff_ids")?[layers]
    );
    base_config["history"] = json!([]);
    let (config_digest, config_size) = write_blob(&serde_json::to_vec(&base_config)?)?;
    let base_manifest = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": config_size},
        "layers": kept,
    });
    let (manifest_digest, manifest_size) = write_blob(&serde_json::to_vec(&base_manifest)?)?;
    std::fs::write(dir.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#)?;
    std::fs::write(
        dir.join("index.json"),
        serde_json::to_vec(&json!({
            "schemaVersion": 2,
            "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
                           "digest": manifest_digest, "size": manifest_size,
                           "annotations": {"org.opencontainers.image.ref.name": "base"}}],
        }))?,
    )?;
    Ok(format!("oci:{}:base", dir.display()))
}

#[test]
fn scan_reports_prioritised_findings_in_every_format() -> anyhow::Result<()> {
    let Setup {
        images: _,
        dir: _dir,
        home,
        image,
    } = setup()?;

    let report: Value =
        serde_json::from_slice(&run_ok(scan(&home).args([&image, "-q", "-f", "json"]))?)?;
    ensure!(
        report["schema"] == "portcullis-scan/1",
        "{}",
        report["schema"]
    );
    let findings = report["findings"].as_array().context("findings")?;
    let summary = &report["summary"];
    ensure!(summary["findings"].as_u64() == Some(findings.len() as u64));
    ensure!(findings.len() > 100, "{} findings", findings.len());
    // Known exploited first: Pillow's libwebp CVE-2023-4863 is in CISA KEV.
    let first = &findings[0];
    ensure!(
        first["id"] == "CVE-2023-4863" && first["package"]["name"] == "Pillow",
        "{first}"
    );
    ensure!(first["kev"]["date_added"] == "2023-09-13", "{first}");
    // Then by severity, never increasing.
    let rank = |f: &Value| {
        ["unknown", "negligible", "low", "medium", "high", "critical"]
            .iter()
            .position(|s| f["severity"] == *s)
            .unwrap_or(0)
    };
    let after_kev: Vec<usize> = findings
        .iter()
        .filter(|f| f["kev"].is_null())
        .map(rank)
        .collect();
    ensure!(
        after_kev.windows(2).all(|w| w[0] >= w[1]),
        "severity order broken"
    );
    // One finding per vulnerability per package, with every alias and how it matched.
    let urllib3: Vec<&Value> = findings
        .iter()
        .filter(|f| f["package"]["name"] == "urllib3" && f["id"] == "CVE-2019-11236")
        .collect();
    ensure!(urllib3.len() == 1, "{urllib3:?}");
    let u = urllib3[0];
    ensure!(
        u["aliases"]
            .as_array()
            .is_some_and(|a| a.iter().any(|x| x == "PYSEC-2019-132")),
        "{u}"
    );
    ensure!(u["fixed_versions"] == json!(["1.24.3"]), "{u}");
    let m = &u["matched"][0];
    ensure!(
        m["source"] == "pypa" && m["ecosystem"] == "PyPI" && m["field"] == "name",
        "{m}"
    );
    ensure!(
        m["version"] == "1.24.1" && m["range"].as_str().is_some_and(|r| !r.is_empty()),
        "{m}"
    );
    // No finding without an explanation.
    ensure!(
        findings
            .iter()
            .all(|f| f["matched"].as_array().is_some_and(|m| !m.is_empty()))
    );

    // Filters and exit codes.
    let critical = scan(&home)
        .args([&image, "-q", "-f", "json", "--severity", "critical"])
        .output()?;
    ensure!(critical.status.success());
    let critical: Value = serde_json::from_slice(&critical.stdout)?;
    let n_critical = summary["by_severity"]["critical"]
        .as_u64()
        .context("critical")?;
    ensure!(critical["findings"].as_array().map(Vec::len) == Some(n_critical as usize));
    let failing = scan(&home)
        .args([&image, "-q", "--fail-on", "critical"])
        .output()?;
    ensure!(failing.status.code() == Some(1), "{failing:?}");
    let passing = scan(&home)
        .args([&image, "-q", "--fail-on", "critical", "--severity", "low"])
        .output()?;
    ensure!(passing.status.code() == Some(0), "{passing:?}");
    let bad = scan(&home)
        .args([&image, "--severity", "severe"])
        .output()?;
    ensure!(
        bad.status.code() == Some(2)
            && String::from_utf8_lossy(&bad.stderr).contains("not a severity")
    );

    // The layer cache filled on the first scan; a second scan reads no layer and
    // reports the same.
    let cached = std::fs::read_dir(home.join("cache/layers"))?.count();
    ensure!(cached == 4, "{cached} cached layers, the image has 4");
    let again: Value =
        serde_json::from_slice(&run_ok(scan(&home).args([&image, "-q", "-f", "json"]))?)?;
    ensure!(again["findings"] == report["findings"]);

    // Every format renders the same findings.
    let sarif: Value =
        serde_json::from_slice(&run_ok(scan(&home).args([&image, "-q", "-f", "sarif"]))?)?;
    ensure!(sarif["runs"][0]["results"].as_array().map(Vec::len) == Some(findings.len()));
    let cdx: Value = serde_json::from_slice(&run_ok(scan(&home).args([
        &image,
        "-q",
        "-f",
        "cyclonedx",
    ]))?)?;
    ensure!(
        cdx["specVersion"] == "1.6"
            && cdx["vulnerabilities"].as_array().map(Vec::len) == Some(findings.len())
    );
    let gitlab: Value =
        serde_json::from_slice(&run_ok(scan(&home).args([&image, "-q", "-f", "gitlab"]))?)?;
    ensure!(gitlab["vulnerabilities"].as_array().map(Vec::len) == Some(findings.len()));
    let junit = String::from_utf8(run_ok(scan(&home).args([&image, "-q", "-f", "junit"]))?)?;
    ensure!(junit.matches("<testcase").count() == findings.len());
    let html = String::from_utf8(run_ok(scan(&home).args([&image, "-q", "-f", "html"]))?)?;
    ensure!(html.contains("CVE-2023-4863") && !html.contains("<script src"));
    let table = String::from_utf8(run_ok(scan(&home).args([&image, "-q"]))?)?;
    ensure!(
        table
            .lines()
            .last()
            .is_some_and(|l| l.starts_with(&format!("{} findings in", findings.len()))),
        "{table}"
    );
    Ok(())
}

#[test]
fn base_image_layers_mark_findings_and_a_wrong_base_is_refused() -> anyhow::Result<()> {
    let Setup {
        images,
        dir,
        home,
        image,
    } = setup()?;
    let base = base_layout(&images, &dir.path().join("base"), 0..1)?;
    let report: Value = serde_json::from_slice(&run_ok(
        scan(&home).args([&image, "-q", "-f", "json", "--base", &base]),
    )?)?;
    let findings = report["findings"].as_array().context("findings")?;
    ensure!(!findings.is_empty());
    for f in findings {
        let layer = f["package"]["layer"]["index"].as_u64().context("layer")?;
        let expected = if layer == 0 { "base" } else { "application" };
        ensure!(f["layer_role"] == expected, "{f}");
    }
    // The language packages were added on top of the base.
    ensure!(findings.iter().any(|f| f["layer_role"] == "application"));

    // A "base" whose layers are not the image's bottom layers is refused.
    let wrong = base_layout(&images, &dir.path().join("wrong"), 1..2)?;
    let out = scan(&home)
        .args([&image, "-q", "--base", &wrong])
        .output()?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    ensure!(
        out.status.code() == Some(2) && stderr.contains("is not the base of"),
        "{stderr}"
    );
    // Two bottom layers are a valid base as well.
    let two = base_layout(&images, &dir.path().join("two"), 0..2)?;
    run_ok(scan(&home).args([&image, "-q", "-f", "json", "--base", &two]))?;
    Ok(())
}

#[test]
fn vex_and_ignore_files_suppress_findings_and_say_why() -> anyhow::Result<()> {
    let Setup {
        images: _,
        dir,
        home,
        image,
    } = setup()?;
    let plain: Value =
        serde_json::from_slice(&run_ok(scan(&home).args([&image, "-q", "-f", "json"]))?)?;
    let digest = plain["image"]["manifest_digest"]
        .as_str()
        .context("manifest digest")?;
    let total = plain["summary"]["findings"].as_u64().context("count")?;

    let vex = dir.path().join("app.openvex.json");
    std::fs::write(
        &vex,
        serde_json::to_vec_pretty(&json!({
            "@context": "https://openvex.dev/ns/v0.2.0",
            "@id": "https://vex.example.invalid/app-1",
            "author": "Platform Security",
            "timestamp": "2026-01-10T09:00:00Z",
            "version": 1,
            "statements": [
                {
                    "vulnerability": {"name": "CVE-2023-4863"},
                    "products": [{
                        "@id": format!("pkg:oci/bookworm-vuln@{}", digest.replace(':', "%3A")),
                        "subcomponents": [{"@id": "pkg:pypi/pillow@8.0.0"}]
                    }],
                    "status": "not_affected",
                    "justification": "vulnerable_code_not_in_execute_path",
                    "impact_statement": "WebP decoding is never used"
                },
                {
                    "vulnerability": {"name": "CVE-2023-50447"},
                    "products": [{"@id": "pkg:pypi/pillow@8.0.0"}],
                    "status": "under_investigation"
                }
            ]
        }))?,
    )?;
    let ignore = dir.path().join("ignore.yaml");
    std::fs::write(
        &ignore,
        "version: 1\nignores:\n  - id: GHSA-r64q-w8jr-g9qp\n    package: urllib3\n    reason: only talks to our own proxy\n    expires: 2099-01-01\n    owner: platform\n  - id: CVE-2020-1747\n    package: PyYAML\n    reason: accepted for the 2025 release\n    expires: 2025-06-30\n",
    )?;
    let out = scan(&home)
        .args([&image, "-f", "json", "--vex"])
        .arg(&vex)
        .arg("--ignore-file")
        .arg(&ignore)
        .output()?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    ensure!(out.status.success(), "{stderr}");
    let report: Value = serde_json::from_slice(&out.stdout)?;
    ensure!(
        report["summary"]["suppressed"] == 2,
        "{}",
        report["summary"]
    );
    ensure!(report["summary"]["findings"].as_u64() == Some(total - 2));
    let suppressed = report["suppressed"].as_array().context("suppressed")?;
    let pillow = suppressed
        .iter()
        .find(|f| f["id"] == "CVE-2023-4863")
        .context("pillow suppressed")?;
    let a = &pillow["annotations"][0];
    ensure!(a["kind"] == "vex" && a["status"] == "not_affected", "{a}");
    ensure!(
        a["justification"] == "vulnerable_code_not_in_execute_path" && a["suppresses"] == true,
        "{a}"
    );
    // Matched through an alias (the ignore entry names the GHSA of CVE-2019-11236).
    let urllib3 = suppressed
        .iter()
        .find(|f| f["id"] == "CVE-2019-11236")
        .context("urllib3 suppressed")?;
    let a = &urllib3["annotations"][0];
    ensure!(
        a["kind"] == "ignore" && a["detail"] == "only talks to our own proxy",
        "{a}"
    );
    ensure!(
        a["source"]
            .as_str()
            .is_some_and(|s| s.ends_with("ignore.yaml:3")),
        "{a}"
    );
    // A statement that does not suppress is shown on the kept finding.
    let findings = report["findings"].as_array().context("findings")?;
    let investigating = findings
        .iter()
        .find(|f| f["id"] == "CVE-2023-50447")
        .context("kept")?;
    ensure!(
        investigating["annotations"][0]["status"] == "under_investigation",
        "{investigating}"
    );
    // The expired entry no longer applies: the finding is still there, marked, and reported.
    let pyyaml = findings
        .iter()
        .find(|f| f["id"] == "CVE-2020-1747")
        .context("pyyaml kept")?;
    ensure!(
        pyyaml["annotations"][0]["kind"] == "expired_ignore",
        "{pyyaml}"
    );
    ensure!(
        stderr.contains("CVE-2020-1747") && stderr.contains("expired"),
        "{stderr}"
    );

    // The table lists them too, and a broken ignore file stops before scanning.
    let table = String::from_utf8(run_ok(
        scan(&home)
            .args([&image, "-q", "--vex"])
            .arg(&vex)
            .arg("--ignore-file")
            .arg(&ignore),
    )?)?;
    ensure!(table.contains("Suppressed (2 findings"), "{table}");
    ensure!(
        table.contains("not_affected (vulnerable_code_not_in_execute_path)"),
        "{table}"
    );
    std::fs::write(
        &ignore,
        "version: 1\nignores:\n  - id: CVE-1\n    expires: 2099-01-01\n",
    )?;
    let bad = scan(&home)
        .args([&image, "-q", "--ignore-file"])
        .arg(&ignore)
        .output()?;
    let stderr = String::from_utf8_lossy(&bad.stderr);
    ensure!(
        bad.status.code() == Some(2) && stderr.contains("ignore.yaml") && stderr.contains("reason"),
        "{stderr}"
    );
    Ok(())
}

#[test]
fn an_sbom_file_scans_like_the_image_it_describes() -> anyhow::Result<()> {
    let Setup {
        images: _,
        dir,
        home,
        image,
    } = setup()?;
    let keys = |report: &Value| -> anyhow::Result<Vec<(String, String, String)>> {
        let mut keys: Vec<_> = report["findings"]
            .as_array()
            .context("findings")?
            .iter()
            .map(|f| {
                (
                    f["id"].as_str().unwrap_or_default().to_owned(),
                    f["package"]["purl"].as_str().unwrap_or_default().to_owned(),
                    f["package"]["version"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                )
            })
            .collect();
        keys.sort();
        Ok(keys)
    };
    let direct: Value =
        serde_json::from_slice(&run_ok(scan(&home).args([&image, "-q", "-f", "json"]))?)?;
    for format in ["cyclonedx", "spdx", "json"] {
        let file = dir.path().join(format!("sbom.{format}.json"));
        let mut cmd = portcullis();
        run_ok(
            cmd.args(["sbom", "-q", &image, "-f", format, "-o"])
                .arg(&file),
        )?;
        let via: Value = serde_json::from_slice(&run_ok(
            scan(&home)
                .args(["-q", "-f", "json"])
                .arg(format!("sbom:{}", file.display())),
        )?)?;
        ensure!(
            keys(&via)? == keys(&direct)?,
            "{format}: findings differ from the image scan"
        );
    }
    // A file that is no SBOM is named in the error.
    let junk = dir.path().join("junk.json");
    std::fs::write(&junk, "{\"hello\": 1}")?;
    let out = scan(&home).arg(&junk).output()?;
    ensure!(
        out.status.code() == Some(2) && String::from_utf8_lossy(&out.stderr).contains("junk.json")
    );
    Ok(())
}

/// The HTML report as Debian's Chromium renders it, scripts run: the DOM after
/// rendering (`--dump-dom`).
fn render(html: &Path, fragment: &str) -> anyhow::Result<String> {
    crate::harness::require("chromium", "apt-get install -y chromium")?;
    let profile = tempfile::tempdir()?;
    let out = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg("--dump-dom")
        .arg(format!("file://{}{fragment}", html.display()))
        .output()?;
    ensure!(
        out.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(String::from_utf8(out.stdout)?)
}

#[test]
fn the_html_report_renders_in_chromium_with_counts_rows_and_a_working_filter() -> anyhow::Result<()>
{
    let Setup {
        images: _,
        dir,
        home,
        image,
    } = setup()?;
    let report: Value =
        serde_json::from_slice(&run_ok(scan(&home).args([&image, "-q", "-f", "json"]))?)?;
    let total = report["summary"]["findings"].as_u64().context("count")?;
    let critical = report["summary"]["by_severity"]["critical"]
        .as_u64()
        .context("critical")?;
    let html = dir.path().join("report.html");
    run_ok(
        scan(&home)
            .args([&image, "-q", "-f", "html", "-o"])
            .arg(&html),
    )?;

    let dom = render(&html, "")?;
    ensure!(
        dom.contains(&format!("<p>{total} findings in ")),
        "summary line missing"
    );
    ensure!(
        dom.contains(&format!("<b>{critical}</b>critical")),
        "critical count missing"
    );
    ensure!(
        dom.contains(&format!(
            "<span id=\"shown\">{total}</span> of {total} shown"
        )),
        "all rows shown"
    );
    ensure!(
        dom.contains("CVE-2023-4863") && dom.contains("Pillow"),
        "the KEV finding's row"
    );
    ensure!(
        !dom.contains("class=\"hidden\""),
        "nothing hidden without a filter"
    );

    // The script ran in the browser: a filter hides every other row.
    let urllib3 = report["findings"]
        .as_array()
        .context("findings")?
        .iter()
        .filter(|f| f["package"]["name"] == "urllib3")
        .count();
    let filtered = render(&html, "#q=urllib3")?;
    ensure!(
        filtered.contains(&format!(
            "<span id=\"shown\">{urllib3}</span> of {total} shown"
        )),
        "filtered count"
    );
    let visible_rows = filtered.matches("<tr data-severity=").count()
        - filtered.matches("class=\"hidden\"").count();
    ensure!(
        visible_rows == urllib3,
        "{visible_rows} rows visible, {urllib3} expected"
    );
    Ok(())
}
