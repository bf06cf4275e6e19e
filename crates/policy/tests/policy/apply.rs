use std::path::Path;

use portcullis_policy::{Filters, IgnoreFile, Suppression, VexDocument, apply};
use time::macros::datetime;

use super::support::{glibc_binary, image, lodash, log4j, requests, urllib3};

#[test]
fn a_scan_filtered_by_ignore_file_and_vex() -> anyhow::Result<()> {
    let ignore = IgnoreFile::from_path(Path::new("tests/fixtures/ignore/portcullis-ignore.yaml"))?;
    let vex = [
        VexDocument::from_path(Path::new("tests/fixtures/vex/bookworm-vuln.openvex.json"))?,
        VexDocument::from_path(Path::new("tests/fixtures/vex/bookworm-vuln.cdx.json"))?,
    ];
    let scope = image();
    let findings = vec![
        lodash("CVE-2019-10744", &["GHSA-jf85-cpcp-j695"]), // VEX not_affected (and ignored)
        lodash("CVE-2020-8203", &[]),                       // VEX exploitable: kept, annotated
        urllib3("CVE-2019-11324", &["GHSA-mh33-7rrq-662w"]), // VEX affected, but ignored
        requests("CVE-2018-18074", &[]),                    // VEX not_affected
        glibc_binary("CVE-2023-4911", "libc6"),             // VEX in_triage; ignore expired
        log4j("CVE-2019-17571"),                            // ignored; VEX under_investigation
        log4j("CVE-2022-23305"),                            // nothing says anything
    ];
    let result = apply(
        findings,
        &Filters {
            ignore: Some(&ignore),
            vex: &vex,
            image: &scope,
            now: datetime!(2025-06-01 00:00:00 UTC),
        },
    );
    let suppressed: Vec<String> = result
        .suppressed
        .iter()
        .map(|s| match &s.suppression {
            Suppression::Vex(v) => format!(
                "{} by vex {} {}",
                s.finding.id,
                v.status.as_str(),
                v.document
            ),
            Suppression::Ignore(e) => {
                format!("{} by ignore line {}: {}", s.finding.id, e.line, e.reason)
            }
        })
        .collect();
    assert_eq!(
        suppressed,
        [
            "CVE-2019-10744 by vex not_affected tests/fixtures/vex/bookworm-vuln.openvex.json",
            "CVE-2019-11324 by ignore line 12: the client only talks to an internal service with fixed URLs",
            "CVE-2018-18074 by vex not_affected tests/fixtures/vex/bookworm-vuln.cdx.json",
            "CVE-2019-17571 by ignore line 24: SocketServer is not started; log4j 1 is being removed",
        ]
    );
    let kept: Vec<String> = result
        .kept
        .iter()
        .map(|k| {
            format!(
                "{} vex={} expired_ignore={}",
                k.finding.id,
                k.vex.as_ref().map_or("-", |v| v.status.as_str()),
                k.expired_ignore
                    .as_ref()
                    .map_or("-".to_owned(), |e| e.expires.text.clone())
            )
        })
        .collect();
    assert_eq!(
        kept,
        [
            "CVE-2020-8203 vex=exploitable expired_ignore=-",
            "CVE-2023-4911 vex=in_triage expired_ignore=2024-01-31",
            "CVE-2022-23305 vex=- expired_ignore=-",
        ]
    );
    let expired: Vec<&str> = result
        .expired_entries
        .iter()
        .map(|e| e.id.as_str())
        .collect();
    assert_eq!(expired, ["CVE-2023-4911"]);
    // The result serialises for the JSON report.
    let json = serde_json::to_value(&result)?;
    assert_eq!(json["suppressed"][1]["suppression"]["by"], "ignore");
    assert_eq!(
        json["suppressed"][1]["suppression"]["expires"],
        "2030-06-30T12:00:00Z"
    );
    assert_eq!(
        json["suppressed"][0]["suppression"]["justification"],
        "vulnerable_code_not_in_execute_path"
    );
    Ok(())
}

#[test]
fn nothing_to_apply_keeps_everything() {
    let scope = image();
    let findings = vec![lodash("CVE-2019-10744", &[]), log4j("CVE-2019-17571")];
    let result = apply(
        findings.clone(),
        &Filters {
            ignore: None,
            vex: &[],
            image: &scope,
            now: datetime!(2025-06-01 00:00:00 UTC),
        },
    );
    assert_eq!(
        result
            .kept
            .into_iter()
            .map(|k| k.finding)
            .collect::<Vec<_>>(),
        findings
    );
    assert!(result.suppressed.is_empty());
    assert!(result.expired_entries.is_empty());
}
