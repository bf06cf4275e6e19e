//! Snapshot tests of the gate's screens, on a fixed decision.

use std::collections::BTreeMap;

use portcullis_policy::{DiagnosticAction, Outcome};
use portcullis_types::{Ecosystem, SeverityLevel};

use super::model::{
    Approval, Diag, DiagFinding, Gate, GateResult, Links, PlatformSummary, ways_out,
};
use super::screens;

fn finding(
    id: &str,
    sev: SeverityLevel,
    package: &str,
    version: &str,
    fixed: &[&str],
    base: bool,
) -> DiagFinding {
    let ecosystem = match package {
        "urllib3" | "Django" => Ecosystem::Python,
        "lodash" => Ecosystem::Npm,
        "smallvec" => Ecosystem::Cargo,
        _ => Ecosystem::Deb,
    };
    DiagFinding {
        id: id.to_owned(),
        package: package.to_owned(),
        version: version.to_owned(),
        ecosystem: Some(ecosystem),
        severity: Some(sev),
        fixed_versions: fixed.iter().map(|s| (*s).to_owned()).collect(),
        in_base_image: base,
        known_exploited: false,
    }
}

fn summary(platform: Option<&str>, outcome: Outcome) -> PlatformSummary {
    let by_severity: BTreeMap<SeverityLevel, usize> = [
        (SeverityLevel::Critical, 1),
        (SeverityLevel::High, 4),
        (SeverityLevel::Medium, 9),
        (SeverityLevel::Low, 2),
        (SeverityLevel::Negligible, 0),
        (SeverityLevel::Unknown, 3),
    ]
    .into_iter()
    .collect();
    PlatformSummary {
        platform: platform.map(str::to_owned),
        digest: format!("sha256:{}", "0123456789abcdef".repeat(4)),
        outcome,
        findings: 19,
        by_severity,
        fixable: 11,
        known_exploited: 0,
    }
}

fn gate(outcome: Outcome, result: GateResult) -> Gate {
    let action = match outcome {
        Outcome::Block => DiagnosticAction::Block,
        _ => DiagnosticAction::Nudge,
    };
    let diagnostics = if outcome == Outcome::Pass {
        Vec::new()
    } else {
        vec![
            Diag {
                platform: None,
                action,
                code: "fixable-high".to_owned(),
                rule: "prod/fixable-high".to_owned(),
                message: "7 findings of severity high or above have a fix".to_owned(),
                remedy: Some("upgrade the packages to their fixed versions".to_owned()),
                findings: vec![
                    finding(
                        "CVE-2023-43804",
                        SeverityLevel::High,
                        "urllib3",
                        "1.26.5",
                        &["1.26.17", "2.0.6"],
                        false,
                    ),
                    finding(
                        "CVE-2023-45803",
                        SeverityLevel::Medium,
                        "urllib3",
                        "1.26.5",
                        &["1.26.18"],
                        false,
                    ),
                    finding(
                        "CVE-2024-0001",
                        SeverityLevel::Critical,
                        "libssl3",
                        "3.0.11-1~deb12u1",
                        &["3.0.13-1~deb12u1"],
                        true,
                    ),
                    finding(
                        "CVE-2024-0002",
                        SeverityLevel::High,
                        "libc6",
                        "2.36-9+deb12u3",
                        &[],
                        true,
                    ),
                    finding(
                        "CVE-2021-23337",
                        SeverityLevel::High,
                        "lodash",
                        "4.17.20",
                        &["4.17.21"],
                        false,
                    ),
                    finding(
                        "CVE-2020-28500",
                        SeverityLevel::Medium,
                        "lodash",
                        "4.17.20",
                        &["4.17.21"],
                        false,
                    ),
                    finding(
                        "CVE-2020-8203",
                        SeverityLevel::High,
                        "lodash",
                        "4.17.20",
                        &["4.17.19"],
                        false,
                    ),
                    // Fixed on several branches, and range fragments among the fixes.
                    finding(
                        "CVE-2020-9402",
                        SeverityLevel::High,
                        "Django",
                        "2.2",
                        &["1.11.29", "2.2.11", "3.0.4"],
                        false,
                    ),
                    finding(
                        "CVE-2021-25900",
                        SeverityLevel::Critical,
                        "smallvec",
                        "1.6.0",
                        &["0.6.14", "< 1.0.0", "1.6.1", "< 0.6.3"],
                        false,
                    ),
                ],
            },
            Diag {
                platform: None,
                action: DiagnosticAction::Warn,
                code: "old-database".to_owned(),
                rule: "prod/old-database".to_owned(),
                message: "the advisory data is 9 days old".to_owned(),
                remedy: None,
                findings: Vec::new(),
            },
        ]
    };
    let links = Links {
        report: Some("https://gate.example.invalid/reports/42".to_owned()),
        approve: Some("https://gate.example.invalid/approve/42?stage=prod".to_owned()),
    };
    let ways = if matches!(result, GateResult::Passed | GateResult::Approved) {
        Vec::new()
    } else {
        ways_out(&diagnostics, &links)
    };
    Gate {
        image: "unscanned/payments/api:1.4.2".to_owned(),
        digest: format!("sha256:{}", "fedcba9876543210".repeat(4)),
        id: 42,
        stage: "prod".to_owned(),
        outcome,
        result,
        exit_code: result.exit_code(),
        promoted_to: matches!(result, GateResult::Passed | GateResult::Approved)
            .then(|| "scanned/payments/api:1.4.2".to_owned()),
        approval: (result == GateResult::Approved).then(|| Approval {
            approver: "sec-alice".to_owned(),
            reason: "urllib3 is only used by the health check; upgrade tracked in PAY-118"
                .to_owned(),
            at: "2026-11-24T10:00:00Z".to_owned(),
        }),
        platforms: vec![summary(None, outcome)],
        diagnostics,
        ways_out: ways,
        links,
        waited: (result == GateResult::TimedOut).then(|| "30m".to_owned()),
    }
}

fn screen(g: &Gate) -> String {
    format!("{}{}", screens::decision(g, &g.image), screens::settled(g))
}

#[test]
fn pass_is_one_line() {
    let g = gate(Outcome::Pass, GateResult::Passed);
    let text = screen(&g);
    assert_eq!(text.lines().count(), 1, "{text}");
    insta::assert_snapshot!("gate_pass", text);
}

#[test]
fn nudge_screens() {
    insta::assert_snapshot!(
        "gate_nudge_approved",
        screen(&gate(Outcome::Nudge, GateResult::Approved))
    );
    insta::assert_snapshot!(
        "gate_nudge_timed_out",
        screen(&gate(Outcome::Nudge, GateResult::TimedOut))
    );
    insta::assert_snapshot!(
        "gate_nudge_not_waited",
        screen(&gate(Outcome::Nudge, GateResult::AwaitingApproval))
    );
    insta::assert_snapshot!(
        "gate_nudge_declined",
        screen(&gate(Outcome::Nudge, GateResult::Declined))
    );
}

#[test]
fn block_screen_names_the_ways_out() {
    let g = gate(Outcome::Block, GateResult::Blocked);
    let text = screen(&g);
    // One upgrade per package, to the highest fix among its findings.
    assert!(
        text.contains("upgrade lodash from 4.17.20 to 4.17.21 or later"),
        "{text}"
    );
    assert!(
        text.contains("upgrade urllib3 from 1.26.5 to 1.26.18 or later"),
        "{text}"
    );
    assert!(
        text.contains("rebuild on a newer base image: 2 of these findings"),
        "{text}"
    );
    assert!(
        text.contains("no fix is known yet for CVE-2024-0002"),
        "{text}"
    );
    // The fix on the installed branch, not the first one listed; range fragments ignored.
    assert!(
        text.contains("upgrade Django from 2.2 to 2.2.11 or later"),
        "{text}"
    );
    assert!(
        text.contains("upgrade smallvec from 1.6.0 to 1.6.1 or later"),
        "{text}"
    );
    assert!(text.contains("exception for"), "{text}");
    insta::assert_snapshot!("gate_block", text);
}

#[test]
fn multi_platform_screens_label_each_platform() {
    let mut g = gate(Outcome::Nudge, GateResult::AwaitingApproval);
    g.platforms = vec![
        summary(Some("linux/amd64"), Outcome::Nudge),
        summary(Some("linux/arm64"), Outcome::Pass),
    ];
    for d in &mut g.diagnostics {
        d.platform = Some("linux/amd64".to_owned());
    }
    insta::assert_snapshot!("gate_nudge_multi_platform", screen(&g));
}

#[test]
fn junit_reports_each_reason_as_a_case() {
    for (name, outcome, result) in [
        ("gate_junit_pass", Outcome::Pass, GateResult::Passed),
        (
            "gate_junit_nudge_timed_out",
            Outcome::Nudge,
            GateResult::TimedOut,
        ),
        (
            "gate_junit_nudge_approved",
            Outcome::Nudge,
            GateResult::Approved,
        ),
        ("gate_junit_block", Outcome::Block, GateResult::Blocked),
    ] {
        let xml = screens::junit(&gate(outcome, result));
        let doc = roxmltree::Document::parse(&xml).unwrap_or_else(|e| panic!("{name}: {e}\n{xml}"));
        let failures = doc
            .descendants()
            .filter(|n| n.has_tag_name("failure"))
            .count();
        let expected = usize::from(matches!(result, GateResult::TimedOut | GateResult::Blocked));
        assert_eq!(failures, expected, "{name}: {xml}");
        insta::assert_snapshot!(name, xml);
    }
}

#[test]
fn json_is_the_whole_answer() {
    let g = gate(Outcome::Nudge, GateResult::Approved);
    insta::assert_json_snapshot!("gate_json_nudge_approved", g);
}

#[test]
fn exit_codes_are_as_documented() {
    assert_eq!(GateResult::Passed.exit_code(), 0);
    assert_eq!(GateResult::Approved.exit_code(), 0);
    assert_eq!(GateResult::Blocked.exit_code(), 4);
    for r in [
        GateResult::TimedOut,
        GateResult::Declined,
        GateResult::AwaitingApproval,
    ] {
        assert_eq!(r.exit_code(), 3);
    }
}
