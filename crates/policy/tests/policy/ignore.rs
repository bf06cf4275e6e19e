use std::path::Path;

use portcullis_policy::{IgnoreError, IgnoreFile, IgnoreOutcome};
use portcullis_types::Ecosystem;
use time::macros::datetime;

use super::support::{finding, glibc_binary, lodash, log4j, urllib3};

const NOW: time::OffsetDateTime = datetime!(2025-06-01 12:00:00 UTC);

fn fixture() -> IgnoreFile {
    IgnoreFile::from_path(Path::new("tests/fixtures/ignore/portcullis-ignore.yaml"))
        .unwrap_or_else(|e| panic!("the fixture parses: {e}"))
}

fn outcome_id(outcome: IgnoreOutcome<'_>) -> String {
    match outcome {
        IgnoreOutcome::Applies(e) => format!("applies {} (line {})", e.id, e.line),
        IgnoreOutcome::Expired(e) => format!("expired {} (line {})", e.id, e.line),
        IgnoreOutcome::None => "none".to_owned(),
    }
}

#[test]
fn the_fixture_reads_every_field() {
    let file = fixture();
    assert_eq!(file.entries.len(), 4);
    let first = &file.entries[0];
    assert_eq!(first.id, "CVE-2019-10744");
    assert_eq!(first.line, 4);
    assert_eq!(first.owner.as_deref(), Some("app-team"));
    assert!(first.reason.starts_with("defaultsDeep is never called"));
    assert_eq!(first.expires.instant(), "2031-01-01T00:00:00Z");
    let second = &file.entries[1];
    let package = second
        .package
        .as_ref()
        .map(|p| (p.package.as_str(), p.version.as_deref()));
    assert_eq!(package, Some(("urllib3", Some("1.24.1"))));
    assert_eq!(second.expires.instant(), "2030-06-30T12:00:00Z");
    assert!(file.entries[3].package.is_none());
}

#[test]
fn findings_are_matched_by_id_alias_and_package() {
    let file = fixture();
    let cases = [
        (
            lodash("CVE-2019-10744", &[]),
            "applies CVE-2019-10744 (line 4)",
        ),
        // The purl entry has no version: every lodash version is covered.
        (
            finding(
                "CVE-2019-10744",
                &[],
                Ecosystem::Npm,
                "lodash",
                "4.17.20",
                "pkg:npm/lodash@4.17.20",
            ),
            "applies CVE-2019-10744 (line 4)",
        ),
        // Same vulnerability, another package: not covered.
        (
            finding(
                "CVE-2019-10744",
                &[],
                Ecosystem::Npm,
                "lodash-es",
                "4.17.4",
                "pkg:npm/lodash-es@4.17.4",
            ),
            "none",
        ),
        (lodash("CVE-2020-8203", &[]), "none"),
        // The entry names a GHSA in lower case; the finding carries it as an alias.
        (
            urllib3("CVE-2019-11324", &["GHSA-mh33-7rrq-662w", "PYSEC-2019-133"]),
            "applies ghsa-mh33-7rrq-662w (line 12)",
        ),
        (
            finding(
                "CVE-2019-11324",
                &["GHSA-mh33-7rrq-662w"],
                Ecosystem::Python,
                "urllib3",
                "1.26.0",
                "pkg:pypi/urllib3@1.26.0",
            ),
            "none",
        ),
        (
            glibc_binary("CVE-2023-4911", "libc6"),
            "expired CVE-2023-4911 (line 19)",
        ),
        (
            glibc_binary("CVE-2023-4911", "libc-bin"),
            "expired CVE-2023-4911 (line 19)",
        ),
        (log4j("CVE-2019-17571"), "applies CVE-2019-17571 (line 24)"),
        (
            lodash("CVE-2019-17571", &[]),
            "applies CVE-2019-17571 (line 24)",
        ),
    ];
    for (finding, expected) in cases {
        assert_eq!(
            outcome_id(file.evaluate(&finding, NOW)),
            expected,
            "{} in {}@{}",
            finding.id,
            finding.package.name,
            finding.package.version
        );
    }
}

#[test]
fn expired_entries_are_listed_even_when_nothing_matches() {
    let file = fixture();
    let ids = |now| {
        file.expired_entries(now)
            .iter()
            .map(|e| e.id.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(NOW), ["CVE-2023-4911"]);
    assert_eq!(ids(datetime!(2030-06-30 11:59:59 UTC)), ["CVE-2023-4911"]);
    assert_eq!(
        ids(datetime!(2030-06-30 12:00:00 UTC)),
        ["ghsa-mh33-7rrq-662w", "CVE-2023-4911"]
    );
    assert_eq!(
        ids(datetime!(2023-01-01 00:00:00 UTC)),
        Vec::<String>::new()
    );
}

#[test]
fn a_live_entry_wins_over_an_expired_one() -> anyhow::Result<()> {
    let text = "version: 1\nignores:\n\
        - id: CVE-2023-4911\n  reason: old decision\n  expires: 2024-01-01\n\
        - id: CVE-2023-4911\n  reason: renewed after review\n  expires: 2030-01-01\n";
    let file = IgnoreFile::parse(text, "renewed.yaml")?;
    let IgnoreOutcome::Applies(entry) = file.evaluate(&glibc_binary("CVE-2023-4911", "libc6"), NOW)
    else {
        panic!("the renewed entry should apply");
    };
    assert_eq!(entry.reason, "renewed after review");
    Ok(())
}

#[test]
fn package_constraints() -> anyhow::Result<()> {
    // (package, version, finding) → matches?
    let libc6 = glibc_binary("CVE-2023-4911", "libc6");
    let cases: [(&str, Option<&str>, &portcullis_types::Finding, bool); 10] = [
        ("libc6", None, &libc6, true),
        ("LIBC6", None, &libc6, true),
        ("glibc", Some("2.36-9+deb12u14"), &libc6, true),
        ("glibc", Some("2.36-9+deb12u13"), &libc6, false),
        ("libc6", Some("2.36-9+deb12u14"), &libc6, true),
        ("pkg:deb/debian/libc6", None, &libc6, true),
        ("pkg:deb/debian/libc6@2.36-9%2Bdeb12u14", None, &libc6, true),
        (
            "pkg:deb/debian/libc6@2.36-9+deb12u14?arch=arm64",
            None,
            &libc6,
            true,
        ),
        ("pkg:deb/debian/libc6@2.36-9+deb12u3", None, &libc6, false),
        ("pkg:deb/ubuntu/libc6", None, &libc6, false),
    ];
    for (package, version, finding, expected) in cases {
        let version_line = version.map_or(String::new(), |v| format!("    version: '{v}'\n"));
        let text = format!(
            "version: 1\nignores:\n  - id: CVE-2023-4911\n    package: '{package}'\n{version_line}    reason: r\n    expires: 2030-01-01\n"
        );
        let file = IgnoreFile::parse(&text, "table.yaml")?;
        let applies = matches!(file.evaluate(finding, NOW), IgnoreOutcome::Applies(_));
        assert_eq!(applies, expected, "package {package} version {version:?}");
    }
    Ok(())
}

fn error_of(fixture: &str) -> String {
    match IgnoreFile::from_path(Path::new(&format!("tests/fixtures/ignore/{fixture}"))) {
        Ok(_) => panic!("{fixture} should be rejected"),
        Err(e @ IgnoreError::Invalid { .. }) => e.to_string(),
        Err(e) => panic!("{fixture}: unexpected error {e}"),
    }
}

#[test]
fn an_unknown_field_is_named_with_its_position() {
    insta::assert_snapshot!("unknown_field", error_of("unknown-field.yaml"));
}

#[test]
fn a_missing_reason_is_named_with_its_position() {
    insta::assert_snapshot!("missing_reason", error_of("missing-reason.yaml"));
}

#[test]
fn a_bad_date_is_named_with_its_position() {
    insta::assert_snapshot!("bad_date", error_of("bad-date.yaml"));
}

#[test]
fn an_unsupported_version_is_named_with_its_position() {
    insta::assert_snapshot!("wrong_version", error_of("wrong-version.yaml"));
}

#[test]
fn other_mistakes_are_rejected_with_positions() {
    let cases = [
        (
            "version: 1\nignores:\n  - id: CVE-1\n    reason: '  '\n    expires: 2030-01-01\n",
            "x.yaml:4:13: ",
        ),
        (
            "version: 1\nignores:\n  - id: CVE-1\n    package: 'pkg:npm/a@1'\n    version: '2'\n    reason: r\n    expires: 2030-01-01\n",
            "x.yaml:3:9: ",
        ),
        (
            "version: 1\nignores:\n  - id: CVE-1\n    package: 'pkg:'\n    reason: r\n    expires: 2030-01-01\n",
            "x.yaml:3:9: ",
        ),
        ("version: 1\nignores: [\n", "x.yaml:2:10: "),
        (
            "version: 1\nignores:\n  - reason: r\n    expires: 2030-01-01\n",
            "x.yaml:",
        ),
    ];
    for (text, prefix) in cases {
        match IgnoreFile::parse(text, "x.yaml") {
            Ok(_) => panic!("should be rejected:\n{text}"),
            Err(e) => assert!(e.to_string().starts_with(prefix), "{e}\nfor\n{text}"),
        }
    }
}

#[test]
fn a_missing_file_is_a_read_error() {
    let Err(error) = IgnoreFile::from_path(Path::new("tests/fixtures/ignore/absent.yaml")) else {
        panic!("absent file");
    };
    assert!(matches!(error, IgnoreError::Read { .. }));
    assert_eq!(
        error.to_string(),
        "failed to read ignore file `tests/fixtures/ignore/absent.yaml`"
    );
}
