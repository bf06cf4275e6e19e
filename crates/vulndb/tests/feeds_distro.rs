//! The Debian, Alpine and Node.js parsers over the real snapshots in
//! `shared/vulndata` (counts as that directory's README states them).

use std::io::Read;
use std::path::PathBuf;

use anyhow::{Context, Result};
use flate2::read::GzDecoder;
use portcullis_types::{Advisory, AffectedStatus, OsvEvent, SeverityKind, SeverityLevel};
use portcullis_vulndb::{FeedKind, Parsed, detect, parse};

/// Every regular file of `shared/vulndata/NAME.tar.gz`, as (path, bytes).
fn snapshot(name: &str) -> Result<Vec<(String, Vec<u8>)>> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/vulndata")
        .join(format!("{name}.tar.gz"));
    let file = std::fs::File::open(&path).with_context(|| format!("opening {path:?}"))?;
    let mut archive = tar::Archive::new(GzDecoder::new(file));
    let mut files = Vec::new();
    for entry in archive.entries()? {
        let mut entry = entry?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let path = entry.path()?.to_string_lossy().into_owned();
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes)?;
        files.push((path, bytes));
    }
    files.sort();
    Ok(files)
}

/// Detects and parses every file; returns what was parsed and the kind
/// detected for each file.
fn ingest(source: &str, files: &[(String, Vec<u8>)]) -> (Parsed, Vec<(String, Option<FeedKind>)>) {
    let mut out = Parsed::default();
    let mut kinds = Vec::new();
    for (path, bytes) in files {
        let head = &bytes[..bytes.len().min(8192)];
        let kind = detect(path, head);
        if let Some(kind) = kind {
            parse(kind, source, path, bytes, &mut out);
        }
        kinds.push((path.clone(), kind));
    }
    (out, kinds)
}

fn find<'a>(out: &'a Parsed, id: &str) -> &'a Advisory {
    let found: Vec<&Advisory> = out.advisories.iter().filter(|a| a.id == id).collect();
    assert_eq!(found.len(), 1, "{id}");
    found[0]
}

fn kind_of(kinds: &[(String, Option<FeedKind>)], suffix: &str) -> Option<FeedKind> {
    kinds
        .iter()
        .find(|(p, _)| p.ends_with(suffix))
        .unwrap_or_else(|| panic!("no {suffix}"))
        .1
}

#[test]
fn debian_dsa_and_dla_lists() -> Result<()> {
    let files = snapshot("debian-dsa-dla")?;
    let (out, kinds) = ingest("debian", &files);
    assert_eq!(kind_of(&kinds, "data/DSA/list"), Some(FeedKind::DebianList));
    assert_eq!(kind_of(&kinds, "data/DLA/list"), Some(FeedKind::DebianList));
    assert_eq!(kind_of(&kinds, "data/CPE/list"), None);
    assert_eq!(kind_of(&kinds, "data/CPE/aliases"), None);

    assert_eq!(out.records.get("DSA"), Some(&5406));
    assert_eq!(out.records.get("DLA"), Some(&3534));
    assert_eq!(out.records.len(), 2);
    assert_eq!(out.advisories.len(), 5406 + 3534);
    assert_eq!(out.snapshot.as_deref(), Some("2023-04-01T00:00:00Z"));
    // One release line names the package where the version belongs.
    let warnings: Vec<String> = out.warnings.iter().map(ToString::to_string).collect();
    assert_eq!(
        warnings,
        [
            "debian: debian-dsa-dla/data/DSA/list: DSA-423 line 17244: invalid version \
             `kernel-image-2.4.17-ia64`: upstream version does not start with a digit"
        ]
    );
    let skipped = find(&out, "DSA-423");
    assert!(skipped.affected.is_empty());
    assert_eq!(skipped.aliases.len(), 12);

    let dsa = find(&out, "DSA-5380-1");
    assert_eq!(dsa.source, "debian");
    assert_eq!(dsa.aliases, ["CVE-2023-1393"]);
    assert_eq!(dsa.published.as_deref(), Some("2023-03-29T00:00:00Z"));
    assert_eq!(
        dsa.summary.as_deref(),
        Some("xorg-server - security update")
    );
    assert_eq!(dsa.affected.len(), 1);
    assert_eq!(dsa.affected[0].ecosystem, "Debian:11");
    assert_eq!(dsa.affected[0].package, "xorg-server");
    assert_eq!(dsa.affected[0].status, AffectedStatus::Affected);
    assert_eq!(dsa.affected[0].fixed_versions(), ["2:1.20.11-1+deb11u6"]);
    assert_eq!(
        dsa.affected[0].ranges[0].events[0],
        OsvEvent::Introduced("0".to_owned())
    );

    let dla = find(&out, "DLA-3380-1");
    assert_eq!(dla.aliases.len(), 11);
    assert!(dla.aliases.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(dla.affected[0].ecosystem, "Debian:10");
    assert_eq!(
        dla.affected[0].fixed_versions(),
        ["20190114+really20220913-0+deb10u1"]
    );

    // A regression update names no CVE.
    assert!(find(&out, "DSA-5356-2").aliases.is_empty());
    // An old advisory without a revision number.
    assert_eq!(
        find(&out, "DSA-1304").summary.as_deref(),
        Some("kernel-source-2.6.8 - several")
    );
    // Woody and sarge lines with statuses, notes and urgencies.
    let awstats = find(&out, "DSA-892-1");
    assert_eq!(awstats.affected[0].ecosystem, "Debian:3.1");
    assert_eq!(awstats.affected[0].fixed_versions(), ["6.4-1sarge1"]);
    assert_eq!(awstats.affected[0].severity, Some(SeverityLevel::Medium));
    assert_eq!(
        awstats.affected[0].note.as_deref(),
        Some("bug #322591; bug #334833; bug #336137")
    );
    assert_eq!(awstats.affected[1].ecosystem, "Debian:3.0");
    assert_eq!(awstats.affected[1].status, AffectedStatus::NotAffected);
    assert_eq!(
        awstats.affected[1].note.as_deref(),
        Some("vulnerable code not present")
    );
    assert!(awstats.affected[1].ranges.is_empty());
    let statuses: Vec<AffectedStatus> = out
        .advisories
        .iter()
        .flat_map(|a| &a.affected)
        .map(|a| a.status)
        .collect();
    // `NOTE: <unfixed> …` lines are notes, not release lines.
    let count = |s: AffectedStatus| statuses.iter().filter(|&&x| x == s).count();
    assert_eq!(count(AffectedStatus::NotAffected), 55);
    assert_eq!(count(AffectedStatus::Unfixed), 3);
    assert_eq!(count(AffectedStatus::WillNotFix), 5);
    Ok(())
}

#[test]
fn alpine_secdb_yaml() -> Result<()> {
    let files = snapshot("alpine-secdb")?;
    let (out, kinds) = ingest("alpine-secdb", &files);
    let yaml: Vec<&String> = kinds
        .iter()
        .filter(|(p, _)| p.ends_with(".yaml"))
        .map(|(p, _)| p)
        .collect();
    assert_eq!(yaml.len(), 18);
    for (path, kind) in &kinds {
        let expected = path.ends_with(".yaml").then_some(FeedKind::AlpineYaml);
        assert_eq!(*kind, expected, "{path}");
    }

    // The README's 12,009 counts each distinct line once per package version:
    // 19 lines repeat under the same version (`CVE-2019-7577` twice for sdl).
    assert_eq!(out.records.get("secfixes lines"), Some(&12009));
    assert_eq!(out.records.len(), 1);
    // Malformed versions: each skips its lines with one warning naming the
    // package, the version and what was skipped.
    let mut bad_versions: Vec<(&str, &str)> = out
        .warnings
        .iter()
        .filter(|w| w.reason.starts_with("invalid apk version"))
        .map(|w| {
            let file = w.file.trim_start_matches("alpine-secdb/");
            (file, w.record.as_deref().unwrap_or_default())
        })
        .collect();
    bad_versions.sort();
    assert_eq!(
        bad_versions,
        [
            ("v3.10/community.yaml", "phpmyadmin 4.8.0.-r1"),
            ("v3.11/community.yaml", "phpmyadmin 4.8.0.-r1"),
            ("v3.11/main.yaml", "opensmtpd 6.6.2p1-r0"),
            ("v3.11/main.yaml", "python2 2.7.16-33"),
            ("v3.11/main.yaml", "xen 4.10-1-r1"),
            ("v3.3/main.yaml", "irssi 0.8.21.r2"),
            ("v3.3/main.yaml", "libxi 1.7.5.-r1"),
            ("v3.4/main.yaml", "icu 57-1-r2"),
            ("v3.4/main.yaml", "irssi 0.8.21.r2"),
            ("v3.5/main.yaml", "irssi 0.8.21.r2"),
            ("v3.5/main.yaml", "wget 1.18.-r2"),
            ("v3.6/main.yaml", "irssi 1.0.4.-r0"),
            ("v3.6/main.yaml", "py-django 1.11-20-r0"),
            ("v3.7/community.yaml", "quassel 0.12.5.-r0"),
            ("v3.7/main.yaml", "git 2.15.r-r1"),
            ("v3.7/main.yaml", "py-django 1.11-20-r0"),
            ("v3.8/community.yaml", "phpmyadmin 4.8.0.-r1"),
            ("v3.8/main.yaml", "mariadb 10.2.22.r0"),
            ("v3.8/main.yaml", "mariadb 10.2.24.r0"),
            ("v3.8/main.yaml", "mariadb 10.2.26.r0"),
            ("v3.8/main.yaml", "py-django 1.11-20-r0"),
            ("v3.8/main.yaml", "xen 4.10-1-r1"),
            ("v3.9/community.yaml", "phpmyadmin 4.8.0.-r1"),
            ("v3.9/main.yaml", "xen 4.10-1-r1"),
        ]
    );
    let quassel = out
        .warnings
        .iter()
        .find(|w| w.record.as_deref() == Some("quassel 0.12.5.-r0"))
        .context("quassel")?;
    assert!(
        quassel
            .reason
            .ends_with("; skipped CVE-2018-1000178, CVE-2018-1000179"),
        "{}",
        quassel.reason
    );
    // Lines whose ID is misspelt (`CVE_2019-2426`, `CVE 2018-16859`).
    let no_id: Vec<String> = out
        .warnings
        .iter()
        .filter(|w| w.reason.starts_with("no vulnerability ID"))
        .map(|w| w.reason.clone())
        .collect();
    assert_eq!(no_id.len(), 7);
    assert_eq!(
        no_id
            .iter()
            .filter(|r| r.contains("`CVE_2019-2426`"))
            .count(),
        6
    );
    assert_eq!(out.warnings.len(), 24 + 7);

    let in_branch = |id: &str, branch: &str| -> &Advisory {
        let found: Vec<&Advisory> = out
            .advisories
            .iter()
            .filter(|a| a.id == id && a.affected.iter().all(|x| x.ecosystem == branch))
            .collect();
        assert_eq!(found.len(), 1, "{id} in {branch}");
        found[0]
    };
    let ansible = in_branch("CVE-2019-14904", "Alpine:v3.11");
    assert_eq!(ansible.source, "alpine-secdb");
    assert_eq!(ansible.affected.len(), 1);
    assert_eq!(ansible.affected[0].package, "ansible");
    assert_eq!(ansible.affected[0].status, AffectedStatus::Affected);
    assert_eq!(ansible.affected[0].fixed_versions(), ["2.9.3-r0"]);
    let xen = in_branch("CVE-2017-8904", "Alpine:v3.3");
    assert_eq!(xen.aliases, ["XSA-214"]);
    assert_eq!(xen.affected[0].package, "xen");
    // `CVE-2017-17434-1` and `-2` are two patches for one CVE.
    let rsync = in_branch("CVE-2017-17434", "Alpine:v3.11");
    assert_eq!(rsync.affected.len(), 1);
    assert_eq!(rsync.affected[0].package, "rsync");
    assert_eq!(rsync.affected[0].fixed_versions(), ["3.1.2-r7"]);
    // Xen advisories without a CVE keep their XSA ID.
    let xsa = in_branch("XSA-207", "Alpine:v3.11");
    assert_eq!(xsa.affected[0].fixed_versions(), ["4.7.1-r5"]);
    assert!(out.advisories.iter().all(|a| !a.aliases.contains(&a.id)));
    Ok(())
}

#[test]
fn nodejs_security_wg() -> Result<()> {
    let files = snapshot("nodejs-wg")?;
    let (out, kinds) = ingest("nodejs-wg", &files);
    assert_eq!(
        kind_of(&kinds, "vuln/npm/index.json"),
        Some(FeedKind::NodejsNpm)
    );
    assert_eq!(
        kind_of(&kinds, "vuln/core/index.json"),
        Some(FeedKind::NodejsCore)
    );
    assert_eq!(kind_of(&kinds, "vuln/deps/1.json"), None);

    // The README's 468 and 172 are the files of `vuln/npm` and `vuln/core`,
    // each directory's `index.json` included; the index repeats the other
    // files' records and is skipped, leaving 467 and 171 advisories.
    let files_of = |kind: FeedKind| kinds.iter().filter(|(_, k)| *k == Some(kind)).count();
    assert_eq!(files_of(FeedKind::NodejsNpm), 468);
    assert_eq!(files_of(FeedKind::NodejsCore), 172);
    assert_eq!(out.records.get("npm advisories"), Some(&467));
    assert_eq!(out.records.get("core advisories"), Some(&171));
    assert_eq!(out.records.len(), 2);
    assert_eq!(out.advisories.len(), 467 + 171);
    let warnings: Vec<String> = out.warnings.iter().map(ToString::to_string).collect();
    assert_eq!(
        warnings,
        [
            "nodejs-wg: nodejs-wg/vuln/npm/504.json: NSWG-ECO-504: invalid CVSS vector \
             `CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:U/A:U`; kept the published score 7.5"
        ]
    );
    // The published score stands in for the invalid vector.
    let bad_vector = &find(&out, "NSWG-ECO-504").severities;
    assert_eq!(bad_vector.len(), 1);
    assert_eq!(bad_vector[0].kind, SeverityKind::CvssV3);
    assert_eq!(bad_vector[0].vector, None);
    assert_eq!(bad_vector[0].score, Some(7.5));
    assert_eq!(bad_vector[0].level, SeverityLevel::High);

    let npm = find(&out, "NSWG-ECO-1");
    assert_eq!(npm.source, "nodejs-wg");
    assert_eq!(npm.aliases, ["CVE-2014-7205"]);
    assert_eq!(
        npm.summary.as_deref(),
        Some("Arbitrary JavaScript Execution")
    );
    assert_eq!(npm.published.as_deref(), Some("2014-09-27T00:00:00Z"));
    assert_eq!(npm.modified.as_deref(), Some("2016-04-28T00:00:00Z"));
    assert_eq!(npm.references.len(), 2);
    assert_eq!(npm.severities.len(), 1);
    assert_eq!(npm.severities[0].source, "nodejs");
    assert_eq!(npm.severities[0].kind, SeverityKind::CvssV3);
    assert_eq!(npm.severities[0].score, Some(6.5));
    assert_eq!(npm.affected.len(), 1);
    assert_eq!(npm.affected[0].ecosystem, "npm");
    assert_eq!(npm.affected[0].package, "bassmaster");
    let native = npm.affected[0].native.as_ref().context("native range")?;
    assert_eq!(native.vulnerable.as_deref(), Some("<=1.5.1"));
    assert_eq!(native.unaffected, [">=1.5.2"]);

    // No fix: `patched_versions` null.
    let unfixed = find(&out, "NSWG-ECO-410");
    let native = unfixed.affected[0]
        .native
        .as_ref()
        .context("native range")?;
    assert!(native.unaffected.is_empty());
    assert_eq!(unfixed.severities[0].level, SeverityLevel::Low);
    // No vector, score -1: no rating.
    assert!(find(&out, "NSWG-ECO-359").severities.is_empty());

    let core = find(&out, "NSWG-COR-62");
    assert_eq!(core.aliases.len(), 8);
    assert_eq!(core.aliases[0], "CVE-2019-9511");
    assert_eq!(core.cwes, ["CWE-400"]);
    assert_eq!(core.published.as_deref(), Some("2019-08-15T00:00:00Z"));
    assert_eq!(core.affected[0].ecosystem, "Node.js");
    assert_eq!(core.affected[0].package, "node");
    let native = core.affected[0].native.as_ref().context("native range")?;
    assert_eq!(native.vulnerable.as_deref(), Some("8.x || 10.x || 12.x"));
    assert_eq!(native.unaffected, ["^8.16.1 || ^10.16.3 || ^12.8.1"]);
    assert_eq!(core.severities.len(), 1);
    assert_eq!(core.severities[0].kind, SeverityKind::Rating);
    assert_eq!(core.severities[0].level, SeverityLevel::High);
    // A core record with a CVSS vector written without its `CVSS:` prefix.
    let cvss = find(&out, "NSWG-COR-18");
    assert_eq!(cvss.severities[0].kind, SeverityKind::CvssV3);
    assert_eq!(cvss.severities[0].score, Some(4.8));
    Ok(())
}

/// Cut short anywhere, a real file yields warnings, never a panic.
#[test]
fn truncated_real_files_do_not_panic() -> Result<()> {
    for name in ["debian-dsa-dla", "alpine-secdb", "nodejs-wg"] {
        for (path, bytes) in snapshot(name)? {
            let Some(kind) = detect(&path, &bytes[..bytes.len().min(8192)]) else {
                continue;
            };
            for cut in [
                1,
                bytes.len() / 3,
                bytes.len() / 2,
                bytes.len().saturating_sub(1),
            ] {
                let mut out = Parsed::default();
                parse(kind, name, &path, &bytes[..cut.min(bytes.len())], &mut out);
            }
        }
    }
    Ok(())
}
