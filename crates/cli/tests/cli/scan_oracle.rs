//! `portcullis scan --format json` against an independent evaluation of the
//! same advisory data (`scripts/oracle-scan.py`: PyPA's explicit `versions`
//! lists with Python `packaging`, Go's `golang.org/x/mod/semver`, npm's own
//! `semver` for the Node.js working group and RustSec, RubyGems'
//! `Gem::Requirement`), on the real test image that
//! `../shared/tools/make-images.sh` builds: the PyPI, Go, Rust, Ruby and npm
//! findings must be exactly the oracle's, in both directions, and on the
//! `-deleted` tag the deleted packages' findings must be gone.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, ensure};
use serde_json::Value;

use crate::harness::{path_str, portcullis, require, run_ok, test_images};

/// The language snapshots of ../shared/vulndata, and KEV (enrichment only).
const SNAPSHOTS: [&str; 6] = [
    "pypa",
    "go-vulndb",
    "rustsec",
    "rubysec",
    "nodejs-wg",
    "cisa-kev",
];

/// The SBOM ecosystems the oracle decides.
const LANGUAGES: [&str; 5] = ["python", "npm", "go", "cargo", "gem"];

/// (ecosystem, name, version) of one installed package.
type PackageKey = (String, String, String);

fn vulndata(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/vulndata")
        .join(format!("{name}.tar.gz"))
}

fn oracle_script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scripts/oracle-scan.py")
}

fn require_oracle_tools() -> anyhow::Result<()> {
    require("python3", "apt-get install -y python3")?;
    require("go", "apt-get install -y golang-go golang-golang-x-mod-dev")?;
    require("node", "apt-get install -y nodejs npm")?;
    require("npm", "apt-get install -y npm")?;
    require("ruby", "apt-get install -y ruby")?;
    let modules = Command::new("python3")
        .args(["-c", "import packaging, yaml"])
        .status()
        .is_ok_and(|s| s.success());
    ensure!(
        modules,
        "Python `packaging` or `yaml` is missing; run `pip install 'packaging>=26' pyyaml`"
    );
    Ok(())
}

/// Builds the advisory index from the snapshots into `home`.
fn build_index(home: &Path) -> anyhow::Result<()> {
    let mut cmd = portcullis();
    cmd.env("PORTCULLIS_HOME", home).args(["db", "update"]);
    for name in SNAPSHOTS {
        cmd.arg("--source").arg(vulndata(name));
    }
    run_ok(&mut cmd)?;
    Ok(())
}

/// What portcullis says about one tag: its SBOM (the oracle's input) and
/// its scan report.
struct Product {
    sbom_path: PathBuf,
    sbom: Value,
    scan: Value,
}

fn run_product(home: &Path, image: &str, work: &Path, tag: &str) -> anyhow::Result<Product> {
    let sbom_path = work.join(format!("{tag}.sbom.json"));
    run_ok(
        portcullis()
            .env("PORTCULLIS_HOME", home)
            .args(["sbom", image, "--format", "json", "--quiet", "-o"])
            .arg(&sbom_path),
    )?;
    let sbom = serde_json::from_slice(&std::fs::read(&sbom_path)?)
        .with_context(|| format!("the SBOM of {image} is not JSON"))?;
    let out = run_ok(
        portcullis()
            .env("PORTCULLIS_HOME", home)
            .args(["scan", image, "--format", "json", "--quiet"]),
    )?;
    let scan = serde_json::from_slice(&out)
        .with_context(|| format!("the scan report of {image} is not JSON"))?;
    Ok(Product {
        sbom_path,
        sbom,
        scan,
    })
}

fn run_oracle(sbom: &Path) -> anyhow::Result<Value> {
    let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let mut cmd = Command::new("python3");
    cmd.arg(oracle_script())
        .arg("--sbom")
        .arg(sbom)
        .arg("--tools-dir")
        .arg(tmp.join("oracle-scan"))
        // The same pinned `semver` install as the version tests' npm oracle.
        .arg("--node-semver")
        .arg(tmp.join("npm-semver-oracle/node_modules/semver"));
    for name in SNAPSHOTS {
        cmd.arg("--snapshot").arg(vulndata(name));
    }
    let out = run_ok(&mut cmd)?;
    serde_json::from_slice(&out).context("the oracle's output is not JSON")
}

fn text(value: &Value, key: &str) -> String {
    value[key].as_str().unwrap_or_default().to_string()
}

fn package_key(package: &Value) -> PackageKey {
    (
        text(package, "ecosystem"),
        text(package, "name"),
        text(package, "version"),
    )
}

fn strings(value: &Value) -> impl Iterator<Item = String> + '_ {
    value
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_string))
}

/// Language-package findings of a scan report: per package, the advisory
/// records that matched, and every ID the findings carry (ID, aliases,
/// matched records).
struct ProductSets {
    records: BTreeMap<PackageKey, BTreeSet<String>>,
    ids: BTreeMap<PackageKey, BTreeSet<String>>,
    /// Two findings of one installed package that share a CVE (one
    /// vulnerability reported twice). Sharing an advisory record is by
    /// design: a record naming several CVEs is one finding per CVE.
    duplicates: Vec<String>,
}

fn product_sets(scan: &Value) -> ProductSets {
    let mut sets = ProductSets {
        records: BTreeMap::new(),
        ids: BTreeMap::new(),
        duplicates: Vec::new(),
    };
    let mut per_finding: BTreeMap<(PackageKey, String), Vec<BTreeSet<String>>> = BTreeMap::new();
    for finding in scan["findings"].as_array().into_iter().flatten() {
        let key = package_key(&finding["package"]);
        if !LANGUAGES.contains(&key.0.as_str()) {
            continue;
        }
        let records: BTreeSet<String> = finding["matched"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|m| text(m, "advisory"))
            .collect();
        let mut ids: BTreeSet<String> = strings(&finding["aliases"]).collect();
        ids.insert(text(finding, "id"));
        ids.extend(records.iter().cloned());
        sets.records.entry(key.clone()).or_default().extend(records);
        let cves = ids
            .iter()
            .filter(|i| i.starts_with("CVE-"))
            .cloned()
            .collect();
        sets.ids.entry(key.clone()).or_default().extend(ids);
        let instance = finding["package"]["found_in"].to_string();
        per_finding.entry((key, instance)).or_default().push(cves);
    }
    for ((key, _), findings) in &per_finding {
        for (i, a) in findings.iter().enumerate() {
            for b in &findings[i + 1..] {
                let shared: Vec<&String> = a.intersection(b).collect();
                if !shared.is_empty() {
                    sets.duplicates
                        .push(format!("{} {} {}: {shared:?}", key.0, key.1, key.2));
                }
            }
        }
    }
    sets
}

/// The oracle's answer per package: advisory records, and records with
/// their aliases.
fn oracle_sets(
    oracle: &Value,
) -> (
    BTreeMap<PackageKey, BTreeSet<String>>,
    BTreeMap<PackageKey, BTreeSet<String>>,
) {
    let mut records: BTreeMap<PackageKey, BTreeSet<String>> = BTreeMap::new();
    let mut ids: BTreeMap<PackageKey, BTreeSet<String>> = BTreeMap::new();
    for hit in oracle["affected"].as_array().into_iter().flatten() {
        let key = package_key(hit);
        records
            .entry(key.clone())
            .or_default()
            .insert(text(hit, "advisory"));
        let entry = ids.entry(key).or_default();
        entry.insert(text(hit, "advisory"));
        entry.extend(strings(&hit["aliases"]));
    }
    (records, ids)
}

/// A readable diff of two per-package ID sets, empty when they agree.
fn diff(
    what: &str,
    product: &BTreeMap<PackageKey, BTreeSet<String>>,
    oracle: &BTreeMap<PackageKey, BTreeSet<String>>,
) -> Vec<String> {
    let empty = BTreeSet::new();
    let keys: BTreeSet<&PackageKey> = product.keys().chain(oracle.keys()).collect();
    let mut lines = Vec::new();
    for key in keys {
        let ours = product.get(key).unwrap_or(&empty);
        let theirs = oracle.get(key).unwrap_or(&empty);
        let missing: Vec<&String> = theirs.difference(ours).collect();
        let extra: Vec<&String> = ours.difference(theirs).collect();
        if !missing.is_empty() {
            lines.push(format!(
                "{what} {} {} {}: the oracle finds, portcullis misses: {missing:?}",
                key.0, key.1, key.2
            ));
        }
        if !extra.is_empty() {
            lines.push(format!(
                "{what} {} {} {}: portcullis finds, the oracle does not: {extra:?}",
                key.0, key.1, key.2
            ));
        }
    }
    lines
}

/// Scans one tag of the real test image and compares with the oracle.
fn compare_tag(
    home: &Path,
    images: &Path,
    work: &Path,
    tag: &str,
) -> anyhow::Result<(Product, ProductSets)> {
    let image = format!("oci:{}:{tag}", path_str(&images.join("oci")));
    compare_image(home, &image, work, tag, 100, Aliases::Equal)
}

/// How the IDs a finding shows (its ID, aliases, records) must relate to the
/// IDs the publishers gave the records the oracle matched.
#[derive(Clone, Copy, PartialEq)]
enum Aliases {
    /// Exactly the same.
    Equal,
    /// Every publisher's ID is shown; more may be. ruby-advisory-db names
    /// files by CVE, so `actionpack/CVE-2012-2660.yml` and
    /// `activerecord/CVE-2012-2660.yml` are one advisory ID whose records
    /// portcullis merges, showing the activerecord record's OSVDB ID on the
    /// actionpack finding too: another ID of the same vulnerability.
    Shown,
}

/// Scans `image`, runs the oracle on the same SBOM, and compares; at least
/// `min_hits` advisory records must affect the image for the comparison to
/// mean something.
#[allow(
    clippy::print_stderr,
    reason = "reports how much was compared in the test log"
)]
fn compare_image(
    home: &Path,
    image: &str,
    work: &Path,
    tag: &str,
    min_hits: usize,
    aliases: Aliases,
) -> anyhow::Result<(Product, ProductSets)> {
    let product = run_product(home, image, work, tag)?;
    let oracle = run_oracle(&product.sbom_path)?;
    let sets = product_sets(&product.scan);
    let (oracle_records, oracle_ids) = oracle_sets(&oracle);

    let mut problems = diff("advisory", &sets.records, &oracle_records);
    problems.extend(
        diff("ID or alias", &sets.ids, &oracle_ids)
            .into_iter()
            .filter(|line| aliases == Aliases::Equal || !line.contains("the oracle does not")),
    );
    problems.extend(
        sets.duplicates
            .iter()
            .map(|d| format!("two findings of one package share a CVE: {d}")),
    );
    let hits: usize = oracle_records.values().map(BTreeSet::len).sum();
    let undecided: Vec<String> = oracle["undecided"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|u| {
            format!(
                "{} {} {}: {}",
                text(u, "ecosystem"),
                text(u, "name"),
                text(u, "version"),
                text(u, "reason")
            )
        })
        .collect();
    eprintln!(
        "{tag}: oracle and portcullis compared on {} packages with {hits} advisory records; \
         {} undecided by the oracle, first: {:?}",
        oracle_records.len(),
        undecided.len(),
        &undecided[..undecided.len().min(3)]
    );
    ensure!(
        problems.is_empty(),
        "{tag}: portcullis and the independent evaluation disagree ({} lines):\n{}",
        problems.len(),
        problems.join("\n")
    );
    // The comparison is only worth something if both found plenty.
    ensure!(
        hits >= min_hits,
        "{tag}: only {hits} advisory records affect the image, fewer than {min_hits}"
    );
    Ok((product, sets))
}

fn deleted_packages(images: &Path) -> anyhow::Result<Vec<PackageKey>> {
    let path = images.join("expected/deleted.tsv");
    let tsv = std::fs::read_to_string(&path)
        .with_context(|| format!("failed to read {}", path.display()))?;
    let rows: Vec<PackageKey> = tsv
        .lines()
        .filter(|l| !l.trim().is_empty())
        .filter_map(|l| {
            let mut f = l.split('\t');
            Some((
                f.next()?.to_string(),
                f.next()?.to_string(),
                f.next()?.to_string(),
            ))
        })
        .collect();
    ensure!(!rows.is_empty(), "{} lists no package", path.display());
    Ok(rows)
}

fn sbom_has(sbom: &Value, key: &PackageKey) -> bool {
    sbom["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|p| &package_key(p) == key)
}

#[test]
fn language_findings_equal_an_independent_evaluation_and_deleted_packages_drop_out()
-> anyhow::Result<()> {
    let images = test_images()?;
    require_oracle_tools()?;
    let home = tempfile::tempdir()?;
    let work = tempfile::tempdir()?;
    build_index(home.path())?;

    let (vuln, vuln_sets) = compare_tag(home.path(), &images, work.path(), "bookworm-vuln")?;
    let (deleted, deleted_sets) =
        compare_tag(home.path(), &images, work.path(), "bookworm-vuln-deleted")?;

    for key in deleted_packages(&images)? {
        let (ecosystem, name, version) = &key;
        ensure!(
            sbom_has(&vuln.sbom, &key),
            "{ecosystem} {name} {version} is not in the SBOM of bookworm-vuln"
        );
        ensure!(
            vuln_sets.records.get(&key).is_some_and(|s| !s.is_empty()),
            "{ecosystem} {name} {version} has no finding on bookworm-vuln, so its deletion proves nothing"
        );
        ensure!(
            !sbom_has(&deleted.sbom, &key),
            "{ecosystem} {name} {version} is still in the SBOM of bookworm-vuln-deleted"
        );
        let left: Vec<String> = deleted.scan["findings"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|f| f["package"]["name"] == name.as_str())
            .map(|f| format!("{} {}", text(f, "id"), text(&f["package"], "version")))
            .collect();
        ensure!(
            left.is_empty(),
            "{ecosystem} {name} was deleted by the top layer, yet bookworm-vuln-deleted reports {left:?}"
        );
        ensure!(
            !deleted_sets.records.contains_key(&key),
            "{ecosystem} {name} {version} still has findings on bookworm-vuln-deleted"
        );
    }
    // Everything else is unchanged by the deletion layer.
    let mut kept = vuln_sets.records.clone();
    for key in deleted_packages(&images)? {
        kept.remove(&key);
    }
    ensure!(
        kept == deleted_sets.records,
        "the findings of packages the top layer did not delete changed:\n{}",
        diff("advisory", &deleted_sets.records, &kept).join("\n")
    );
    Ok(())
}

/// Thousands of decisions instead of the image's two hundred: packages of
/// every ecosystem at the versions where the advisories change their answer
/// (range bounds, listed versions, one patch below a bound), written by
/// `scripts/oracle/boundary_rootfs.py` and scanned as `dir:`.
#[test]
#[allow(
    clippy::print_stderr,
    reason = "reports how much was compared in the test log"
)]
fn boundary_versions_of_every_feed_agree_with_the_independent_evaluation() -> anyhow::Result<()> {
    require_oracle_tools()?;
    let home = tempfile::tempdir()?;
    let work = tempfile::tempdir()?;
    build_index(home.path())?;
    let root = work.path().join("root");
    run_ok(
        Command::new("python3")
            .arg(oracle_script().with_file_name("oracle/boundary_rootfs.py"))
            .arg(vulndata("pypa").parent().context("vulndata dir")?)
            .arg(&root),
    )?;
    let image = format!("dir:{}", path_str(&root));
    let (_, sets) = compare_image(
        home.path(),
        &image,
        work.path(),
        "boundaries",
        10_000,
        Aliases::Shown,
    )?;
    let mut per_ecosystem: BTreeMap<&str, usize> = BTreeMap::new();
    for ((ecosystem, _, _), records) in &sets.records {
        *per_ecosystem.entry(ecosystem.as_str()).or_default() += records.len();
    }
    eprintln!("boundaries: advisory records per ecosystem {per_ecosystem:?}");
    for ecosystem in LANGUAGES {
        ensure!(
            per_ecosystem.get(ecosystem).is_some_and(|n| *n >= 100),
            "boundaries: fewer than 100 {ecosystem} decisions were compared: {per_ecosystem:?}"
        );
    }
    Ok(())
}
