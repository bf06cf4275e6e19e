//! Table-driven tests of evaluation: every condition, every action, org versus
//! team precedence, exception scopes and expiry at the exact instant.

use portcullis_policy::policy::parse;
use portcullis_policy::{
    Decision, DiagnosticAction, Exceptions, ImageFacts, Outcome, PolicySet, Subject, evaluate,
};
use portcullis_types::{Epss, Finding, Kev, LayerRole, Severity, SeverityKind, SeverityLevel};
use time::OffsetDateTime;
use time::macros::datetime;

use super::support::{glibc_binary, lodash};

const NOW: OffsetDateTime = datetime!(2025-06-01 00:00:00 UTC);

fn org(rules: &str) -> String {
    format!(
        "apiVersion: portcullis.dev/v1\nkind: Policy\nmetadata: {{ name: org }}\nspec:\n  roles: {{ security: {{ allowTeamRelaxation: true }} }}\n  stages:\n    - name: prod\n{rules}"
    )
}

fn decide(policy: &str, findings: &[Finding], image: &ImageFacts) -> anyhow::Result<Decision> {
    let set = PolicySet::new(parse::parse(policy, "org.yaml")?)?;
    let subject = Subject {
        stage: "prod",
        team: None,
        image,
    };
    Ok(evaluate(
        &set,
        &subject,
        findings,
        &[],
        &Exceptions::default(),
        NOW,
    )?)
}

/// A critical, fixable, KEV-listed finding in the application layer, published
/// 30 days before NOW, CVSS 9.8, EPSS 0.5 (percentile 0.97).
fn hot() -> Finding {
    let mut f = lodash("CVE-2019-10744", &["GHSA-jf85-cpcp-j695"]);
    f.severity = SeverityLevel::Critical;
    f.fixed_versions = vec!["4.17.12".to_owned()];
    f.cvss = Some(Severity {
        source: "nvd".to_owned(),
        kind: SeverityKind::CvssV3,
        vector: None,
        score: Some(9.8),
        level: SeverityLevel::Critical,
    });
    f.epss = Some(Epss {
        score: 0.5,
        percentile: 0.97,
    });
    f.kev = Some(Kev {
        date_added: "2025-01-01".to_owned(),
        due_date: None,
        ransomware: None,
        name: None,
    });
    f.published = Some("2025-05-02T00:00:00Z".to_owned());
    f.layer_role = Some(LayerRole::Application);
    f
}

/// A low, unfixable finding in the base layer, no CVSS, EPSS or KEV.
fn cold() -> Finding {
    let mut f = glibc_binary("CVE-2010-4756", "libc6");
    f.severity = SeverityLevel::Low;
    f.layer_role = Some(LayerRole::Base);
    f
}

#[test]
fn every_condition_matches_the_hot_finding_and_not_the_cold_one() -> anyhow::Result<()> {
    let table = [
        "severityAtLeast: critical",
        "severityAtLeast: medium",
        "cvssAtLeast: 9.0",
        "fixAvailable: true",
        "fixPublishedDaysAgo: 14",
        "epssScoreAtLeast: 0.1",
        "epssPercentileAtLeast: 0.95",
        "kev: true",
        "ecosystems: [npm, cargo]",
        "packages: [lodash]",
        "packages: ['pkg:npm/lodash']",
        "advisories: [ghsa-jf85-cpcp-j695]",
        "layer: application",
    ];
    for condition in table {
        let policy = org(&format!(
            "      rules:\n        - name: r\n          when: {{ {condition} }}\n          action: block\n"
        ));
        let d = decide(&policy, &[hot(), cold()], &ImageFacts::default())?;
        assert_eq!(d.outcome, Outcome::Block, "{condition}");
        assert_eq!(d.diagnostics.len(), 1, "{condition}");
        let ids: Vec<&str> = d.diagnostics[0]
            .findings
            .iter()
            .map(|f| f.id.as_str())
            .collect();
        assert_eq!(ids, ["CVE-2019-10744"], "{condition}");
    }
    // The negations pick the cold one.
    for condition in [
        "fixAvailable: false",
        "kev: false",
        "layer: base",
        "packages: [glibc]",
        "ecosystems: [deb]",
    ] {
        let policy = org(&format!(
            "      rules:\n        - name: r\n          when: {{ {condition} }}\n          action: block\n"
        ));
        let d = decide(&policy, &[hot(), cold()], &ImageFacts::default())?;
        let ids: Vec<&str> = d.diagnostics[0]
            .findings
            .iter()
            .map(|f| f.id.as_str())
            .collect();
        assert_eq!(ids, ["CVE-2010-4756"], "{condition}");
    }
    Ok(())
}

#[test]
fn a_grace_period_holds_a_recent_fix_back() -> anyhow::Result<()> {
    let policy = org(
        "      rules:\n        - name: r\n          when: { fixPublishedDaysAgo: 31 }\n          action: block\n",
    );
    assert_eq!(
        decide(&policy, &[hot()], &ImageFacts::default())?.outcome,
        Outcome::Pass
    );
    let mut unknown = hot();
    unknown.published = None;
    assert_eq!(
        decide(&policy, &[unknown], &ImageFacts::default())?.outcome,
        Outcome::Block
    );
    Ok(())
}

#[test]
fn each_action_gives_its_outcome_and_a_remedy() -> anyhow::Result<()> {
    for (action, outcome, level) in [
        ("warn", Outcome::Pass, DiagnosticAction::Warn),
        ("nudge", Outcome::Nudge, DiagnosticAction::Nudge),
        ("block", Outcome::Block, DiagnosticAction::Block),
    ] {
        let policy = org(&format!(
            "      rules:\n        - name: fixable-critical\n          when: {{ severityAtLeast: critical, fixAvailable: true }}\n          action: {action}\n"
        ));
        let d = decide(&policy, &[hot()], &ImageFacts::default())?;
        assert_eq!(d.outcome, outcome);
        assert_eq!(d.diagnostics[0].action, level);
        assert_eq!(d.diagnostics[0].code, "fixable-critical");
        assert_eq!(d.diagnostics[0].rule, "prod/fixable-critical");
        assert_eq!(
            d.diagnostics[0].remedy.as_deref(),
            Some("upgrade lodash to ≥ 4.17.12; or add an exception")
        );
    }
    Ok(())
}

#[test]
fn image_rules_fire_on_known_facts_only() -> anyhow::Result<()> {
    let policy = org(concat!(
        "      imageRules:\n",
        "        - { name: runs-as-root, when: { runsAsRoot: true }, action: block }\n",
        "        - { name: unpinned-base, when: { basePinned: false }, action: nudge }\n",
        "        - { name: too-big, when: { sizeOverBytes: 1000 }, action: warn }\n",
        "        - { name: stale, code: stale-image, when: { olderThanDays: 30 }, action: nudge }\n",
    ));
    let bad = ImageFacts {
        user: Some(String::new()),
        base_pinned: Some(false),
        size: Some(1001),
        created: Some(datetime!(2025-04-01 00:00:00 UTC)),
        ..ImageFacts::default()
    };
    let d = decide(&policy, &[], &bad)?;
    assert_eq!(d.outcome, Outcome::Block);
    assert_eq!(
        d.codes(),
        ["runs-as-root", "stale-image", "too-big", "unpinned-base"]
    );
    let good = ImageFacts {
        user: Some("app".to_owned()),
        base_pinned: Some(true),
        size: Some(1000),
        created: Some(datetime!(2025-05-02 00:00:00 UTC)),
        ..ImageFacts::default()
    };
    assert_eq!(decide(&policy, &[], &good)?.diagnostics, []);
    assert_eq!(
        decide(&policy, &[], &ImageFacts::default())?.diagnostics,
        []
    );
    Ok(())
}

const TEAM_HEADER: &str =
    "apiVersion: portcullis.dev/v1\nkind: Policy\nmetadata: { name: t, team: payments";

fn team(extra_meta: &str, rule: &str) -> String {
    format!(
        "{TEAM_HEADER}{extra_meta} }}\nspec:\n  stages:\n    - name: prod\n      rules:\n        - {rule}\n"
    )
}

#[test]
fn team_policies_may_only_be_stricter_unless_security_relaxes() -> anyhow::Result<()> {
    let organisation = org(
        "      rules:\n        - { name: crit, when: { severityAtLeast: critical }, action: nudge }\n",
    );
    // (team rule, approved by security?, accepted?, outcome for the hot finding as team payments)
    let table = [
        (
            "{ name: crit, when: { severityAtLeast: critical }, action: block }",
            false,
            true,
            Outcome::Block,
        ),
        (
            "{ name: crit, when: { severityAtLeast: high }, action: nudge }",
            false,
            true,
            Outcome::Nudge,
        ),
        (
            "{ name: extra, when: { kev: true }, action: block }",
            false,
            true,
            Outcome::Block,
        ),
        (
            "{ name: crit, when: { severityAtLeast: critical }, action: warn }",
            false,
            false,
            Outcome::Nudge,
        ),
        (
            "{ name: crit, when: { severityAtLeast: critical, kev: true }, action: nudge }",
            false,
            false,
            Outcome::Nudge,
        ),
        (
            "{ name: crit, action: nudge, disabled: true }",
            false,
            false,
            Outcome::Nudge,
        ),
        (
            "{ name: crit, when: { severityAtLeast: critical }, action: warn }",
            true,
            true,
            Outcome::Pass,
        ),
        (
            "{ name: crit, action: nudge, disabled: true }",
            true,
            true,
            Outcome::Pass,
        ),
    ];
    for (rule, approved, accepted, outcome) in table {
        let meta = if approved {
            ", approvedByRole: security"
        } else {
            ""
        };
        let mut set = PolicySet::new(parse::parse(&organisation, "org.yaml")?)?;
        let added = set.add_team(parse::parse(&team(meta, rule), "team.yaml")?);
        assert_eq!(added.is_ok(), accepted, "{rule}: {added:?}");
        let subject = Subject {
            stage: "prod",
            team: Some("payments"),
            image: &ImageFacts::default(),
        };
        let d = evaluate(&set, &subject, &[hot()], &[], &Exceptions::default(), NOW)?;
        assert_eq!(d.outcome, outcome, "{rule}");
        // Another team is judged by the organisation policy alone.
        let other = Subject {
            team: Some("checkout"),
            ..subject
        };
        assert_eq!(
            evaluate(&set, &other, &[hot()], &[], &Exceptions::default(), NOW)?.outcome,
            Outcome::Nudge
        );
    }
    let unknown_role = team(
        ", approvedByRole: developers",
        "{ name: crit, action: warn }",
    );
    let mut set = PolicySet::new(parse::parse(&organisation, "org.yaml")?)?;
    assert!(
        set.add_team(parse::parse(&unknown_role, "team.yaml")?)
            .is_err()
    );
    Ok(())
}

fn exceptions(scope: &str, expires: &str) -> anyhow::Result<Exceptions> {
    Ok(Exceptions::parse(
        &format!(
            "apiVersion: portcullis.dev/v1\nkind: Exceptions\nexceptions:\n  - advisory: GHSA-JF85-CPCP-J695\n    scope: {scope}\n    justification: not reachable\n    owner: alice\n    approvedBy: bob\n    approvedAt: 2025-05-01\n    expires: {expires}\n"
        ),
        "exceptions.yaml",
    )?)
}

#[test]
fn exception_scopes_decide_where_an_exception_applies() -> anyhow::Result<()> {
    let policy = org(
        "      rules:\n        - { name: crit, when: { severityAtLeast: critical }, action: block }\n",
    );
    let set = PolicySet::new(parse::parse(&policy, "org.yaml")?)?;
    let image = ImageFacts {
        repository: Some("payments/api".to_owned()),
        digest: Some("sha256:aa".to_owned()),
        ..ImageFacts::default()
    };
    let payments = Subject {
        stage: "prod",
        team: Some("payments"),
        image: &image,
    };
    let elsewhere_image = ImageFacts::default();
    let elsewhere = Subject {
        stage: "prod",
        team: Some("checkout"),
        image: &elsewhere_image,
    };
    // (scope, applies to payments/api@sha256:aa, applies to checkout's other image)
    let table = [
        ("{ organisation: true }", true, true),
        ("{ team: payments }", true, false),
        ("{ repository: payments/api }", true, false),
        ("{ image: 'sha256:AA' }", true, false),
        ("{ organisation: true, package: lodash }", true, true),
        (
            "{ organisation: true, package: 'pkg:npm/lodash' }",
            true,
            true,
        ),
        ("{ organisation: true, package: urllib3 }", false, false),
        ("{ organisation: true, stages: [prod] }", true, true),
        ("{ organisation: true, stages: [dev] }", false, false),
    ];
    for (scope, here, there) in table {
        let register = exceptions(scope, "2025-07-01")?;
        for (subject, applies) in [(&payments, here), (&elsewhere, there)] {
            let d = evaluate(&set, subject, &[hot()], &[], &register, NOW)?;
            let want = if applies {
                (Outcome::Pass, vec!["exception-applied"])
            } else {
                (Outcome::Block, vec!["crit"])
            };
            assert_eq!(
                (d.outcome, d.codes()),
                want,
                "{scope} for {:?}",
                subject.team
            );
        }
    }
    Ok(())
}

#[test]
fn an_exception_stops_at_its_expiry_instant_exactly() -> anyhow::Result<()> {
    let policy = org(
        "      rules:\n        - { name: crit, when: { severityAtLeast: critical }, action: block }\n",
    );
    let set = PolicySet::new(parse::parse(&policy, "org.yaml")?)?;
    let register = exceptions("{ organisation: true }", "2025-06-01T00:00:00Z")?;
    let image = ImageFacts::default();
    let subject = Subject {
        stage: "prod",
        team: None,
        image: &image,
    };
    let before = evaluate(
        &set,
        &subject,
        &[hot()],
        &[],
        &register,
        NOW - time::Duration::nanoseconds(1),
    )?;
    assert_eq!(
        (before.outcome, before.codes()),
        (Outcome::Pass, vec!["exception-applied"])
    );
    let at = evaluate(&set, &subject, &[hot()], &[], &register, NOW)?;
    assert_eq!(
        (at.outcome, at.codes()),
        (Outcome::Block, vec!["crit", "exception-expired"])
    );
    let listing = register.expiring(NOW - time::Duration::days(2), 3);
    assert_eq!((listing.expired.len(), listing.soon.len()), (0, 1));
    let listing = register.expiring(NOW, 3);
    assert_eq!((listing.expired.len(), listing.soon.len()), (1, 0));
    Ok(())
}

#[test]
fn vex_statuses_are_shown_and_never_decide() -> anyhow::Result<()> {
    let policy = org("      rules:\n        - { name: any, action: block }\n");
    let set = PolicySet::new(parse::parse(&policy, "org.yaml")?)?;
    let image = ImageFacts::default();
    let subject = Subject {
        stage: "prod",
        team: None,
        image: &image,
    };
    for (status, code) in [
        ("not_affected", "vex-not-affected"),
        ("fixed", "vex-fixed"),
        ("false_positive", "vex-suppressed"),
    ] {
        let mut f = hot();
        f.annotations.push(portcullis_types::Annotation {
            kind: portcullis_types::AnnotationKind::Vex,
            status: status.to_owned(),
            justification: Some("component_not_present".to_owned()),
            detail: None,
            source: "vex.json statement 1".to_owned(),
            expires: None,
            suppresses: true,
        });
        let d = evaluate(&set, &subject, &[], &[f], &Exceptions::default(), NOW)?;
        assert_eq!((d.outcome, d.codes()), (Outcome::Pass, vec![code]));
        assert_eq!(d.diagnostics[0].action, DiagnosticAction::Info);
    }
    Ok(())
}

#[test]
fn an_unknown_stage_is_an_error_naming_the_stages() -> anyhow::Result<()> {
    let set = PolicySet::new(parse::parse(&org("      rules: []\n"), "org.yaml")?)?;
    let image = ImageFacts::default();
    let subject = Subject {
        stage: "staging",
        team: None,
        image: &image,
    };
    let Err(e) = evaluate(&set, &subject, &[], &[], &Exceptions::default(), NOW) else {
        panic!("staging is not a stage");
    };
    assert_eq!(
        e.to_string(),
        "stage `staging` is not in policy `org` (its stages: prod)"
    );
    Ok(())
}
