use portcullis_policy::{Filters, IgnoreFile, IgnoreOutcome, Suppression, VexDocument, apply};
use portcullis_types::{Ecosystem, Finding};
use proptest::prelude::*;
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

use super::support::{finding, image};

const IDS: &[&str] = &[
    "CVE-2019-10744",
    "CVE-2020-8203",
    "GHSA-jf85-cpcp-j695",
    "CVE-2023-4911",
    "PYSEC-2019-133",
];
const PACKAGES: &[(&str, &str)] = &[("lodash", "npm"), ("urllib3", "pypi"), ("requests", "pypi")];
const VERSIONS: &[&str] = &["1.0.0", "4.17.4", "2.19.1"];

fn any_finding() -> impl Strategy<Value = Finding> {
    (
        0..IDS.len(),
        proptest::collection::vec(0..IDS.len(), 0..3),
        0..PACKAGES.len(),
        0..VERSIONS.len(),
    )
        .prop_map(|(id, aliases, package, version)| {
            let (name, kind) = PACKAGES[package];
            let ecosystem = if kind == "npm" {
                Ecosystem::Npm
            } else {
                Ecosystem::Python
            };
            let aliases: Vec<&str> = aliases
                .into_iter()
                .map(|a| IDS[a])
                .filter(|a| *a != IDS[id])
                .collect();
            finding(
                IDS[id],
                &aliases,
                ecosystem,
                name,
                VERSIONS[version],
                &format!("pkg:{kind}/{name}@{}", VERSIONS[version]),
            )
        })
}

/// An ignore entry as YAML: id, optional package (name or purl, with or without version), expiry offset in days.
fn any_entry() -> impl Strategy<Value = String> {
    (
        0..IDS.len(),
        proptest::option::of((
            0..PACKAGES.len(),
            any::<bool>(),
            proptest::option::of(0..VERSIONS.len()),
        )),
        -30i64..30,
    )
        .prop_map(|(id, package, days)| {
            let expires = (OffsetDateTime::UNIX_EPOCH + Duration::days(20_000 + days)).date();
            let package = match package {
                None => String::new(),
                Some((p, purl, version)) => {
                    let (name, kind) = PACKAGES[p];
                    match (purl, version) {
                        (true, Some(v)) => {
                            format!("    package: 'pkg:{kind}/{name}@{}'\n", VERSIONS[v])
                        }
                        (true, None) => format!("    package: 'pkg:{kind}/{name}'\n"),
                        (false, Some(v)) => {
                            format!("    package: {name}\n    version: '{}'\n", VERSIONS[v])
                        }
                        (false, None) => format!("    package: {name}\n"),
                    }
                }
            };
            format!(
                "  - id: {}\n{package}    reason: accepted\n    expires: {expires}\n",
                IDS[id]
            )
        })
}

/// A not_affected OpenVEX statement on the image or on a package.
fn any_statement() -> impl Strategy<Value = String> {
    (0..IDS.len(), proptest::option::of((0..PACKAGES.len(), proptest::option::of(0..VERSIONS.len()))), any::<bool>())
        .prop_map(|(id, package, on_image)| {
            let purl = package.map(|(p, v)| {
                let (name, kind) = PACKAGES[p];
                let version = v.map_or(String::new(), |v| format!("@{}", VERSIONS[v]));
                format!("pkg:{kind}/{name}{version}")
            });
            let product = match (on_image, purl) {
                (true, None) | (false, None) => format!(r#"{{"@id": "{}"}}"#, super::support::IMAGE_DIGEST),
                (true, Some(purl)) => format!(
                    r#"{{"@id": "{}", "subcomponents": [{{"@id": "{purl}"}}]}}"#,
                    super::support::IMAGE_DIGEST
                ),
                (false, Some(purl)) => format!(r#"{{"@id": "{purl}"}}"#),
            };
            format!(
                r#"{{"vulnerability": {{"name": "{}"}}, "products": [{product}], "status": "not_affected", "justification": "vulnerable_code_not_present"}}"#,
                IDS[id]
            )
        })
}

fn now() -> OffsetDateTime {
    OffsetDateTime::UNIX_EPOCH + Duration::days(20_000)
}

proptest! {
    #[test]
    fn an_ignore_file_never_adds_findings(
        findings in proptest::collection::vec(any_finding(), 0..12),
        entries in proptest::collection::vec(any_entry(), 0..6),
    ) {
        let text = format!("version: 1\nignores:\n{}", entries.concat());
        let ignore = IgnoreFile::parse(&text, "prop.yaml").map_err(|e| TestCaseError::fail(e.to_string()))?;
        let scope = image();
        let result = apply(findings.clone(), &Filters { ignore: Some(&ignore), vex: &[], image: &scope, now: now() });
        prop_assert_eq!(result.kept.len() + result.suppressed.len(), findings.len());
        // Kept and suppressed are both subsequences of the input, and each input
        // finding lands in the list its own evaluation says.
        let mut kept = result.kept.iter();
        let mut suppressed = result.suppressed.iter();
        for f in &findings {
            match ignore.evaluate(f, now()) {
                IgnoreOutcome::Applies(entry) => {
                    let s = suppressed.next().ok_or_else(|| TestCaseError::fail("missing suppressed"))?;
                    prop_assert_eq!(&s.finding, f);
                    prop_assert_eq!(&s.suppression, &Suppression::Ignore(entry.clone()));
                    prop_assert!(entry.is_active(now()));
                }
                _ => {
                    let k = kept.next().ok_or_else(|| TestCaseError::fail("missing kept"))?;
                    prop_assert_eq!(&k.finding, f);
                }
            }
        }
        prop_assert!(kept.next().is_none() && suppressed.next().is_none());
        prop_assert!(result.expired_entries.iter().all(|e| !e.is_active(now())));
    }

    #[test]
    fn vex_not_affected_never_adds_findings(
        findings in proptest::collection::vec(any_finding(), 0..12),
        statements in proptest::collection::vec(any_statement(), 0..6),
    ) {
        let text = format!(
            r#"{{"@context": "https://openvex.dev/ns/v0.2.0", "@id": "x", "author": "a", "timestamp": "2025-01-01T00:00:00Z", "version": 1, "statements": [{}]}}"#,
            statements.join(",")
        );
        let vex = [VexDocument::parse(text.as_bytes(), "prop.json").map_err(|e| TestCaseError::fail(e.to_string()))?];
        let scope = image();
        let result = apply(findings.clone(), &Filters { ignore: None, vex: &vex, image: &scope, now: now() });
        prop_assert_eq!(result.kept.len() + result.suppressed.len(), findings.len());
        let mut kept = result.kept.iter();
        let mut suppressed = result.suppressed.iter();
        for f in &findings {
            if vex[0].evaluate(f, &scope).is_some() {
                let s = suppressed.next().ok_or_else(|| TestCaseError::fail("missing suppressed"))?;
                prop_assert_eq!(&s.finding, f);
            } else {
                let k = kept.next().ok_or_else(|| TestCaseError::fail("missing kept"))?;
                prop_assert_eq!(&k.finding, f);
                prop_assert!(k.vex.is_none());
            }
        }
        prop_assert!(kept.next().is_none() && suppressed.next().is_none());
    }

    #[test]
    fn an_entry_expiring_at_t_applies_until_one_second_before(
        seconds in 0i64..4_000_000_000,
        offset_minutes in -720i64..840,
        after in 0i64..100_000,
    ) {
        let at = OffsetDateTime::from_unix_timestamp(seconds).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let offset = time::UtcOffset::from_whole_seconds((offset_minutes * 60) as i32)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        let written = at.to_offset(offset).format(&Rfc3339).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let text = format!("version: 1\nignores:\n  - id: CVE-2019-10744\n    reason: r\n    expires: '{written}'\n");
        let ignore = IgnoreFile::parse(&text, "t.yaml").map_err(|e| TestCaseError::fail(e.to_string()))?;
        let f = finding("CVE-2019-10744", &[], Ecosystem::Npm, "lodash", "4.17.4", "pkg:npm/lodash@4.17.4");
        prop_assert!(matches!(ignore.evaluate(&f, at - Duration::seconds(1)), IgnoreOutcome::Applies(_)));
        prop_assert!(matches!(ignore.evaluate(&f, at), IgnoreOutcome::Expired(_)));
        prop_assert!(matches!(ignore.evaluate(&f, at + Duration::seconds(after)), IgnoreOutcome::Expired(_)));
        prop_assert_eq!(ignore.expired_entries(at).len(), 1);
        prop_assert_eq!(ignore.expired_entries(at - Duration::seconds(1)).len(), 0);
    }
}

proptest! {
    #[test]
    fn no_input_makes_the_parsers_panic(text in "\\PC{0,200}", cut in 0usize..2000) {
        let _ = IgnoreFile::parse(&text, "fuzz.yaml");
        let _ = VexDocument::parse(text.as_bytes(), "fuzz.json");
        // Truncated real documents.
        let yaml = include_str!("../fixtures/ignore/portcullis-ignore.yaml");
        let json = include_str!("../fixtures/vex/bookworm-vuln.cdx.json");
        let openvex = include_str!("../fixtures/vex/bookworm-vuln.openvex.json");
        let _ = IgnoreFile::parse(&yaml[..yaml.floor_char_boundary(cut.min(yaml.len()))], "cut.yaml");
        let _ = VexDocument::parse(&json.as_bytes()[..cut.min(json.len())], "cut.json");
        let _ = VexDocument::parse(&openvex.as_bytes()[..cut.min(openvex.len())], "cut.json");
    }
}
