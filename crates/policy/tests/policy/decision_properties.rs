//! Properties of evaluation: exceptions and VEX never make a decision
//! stricter; a clean image always passes.

use portcullis_policy::policy::parse;
use portcullis_policy::{Exceptions, ImageFacts, Outcome, PolicySet, Subject, evaluate};
use portcullis_types::{Epss, Finding, SeverityLevel};
use proptest::prelude::*;
use time::macros::datetime;

use super::support::lodash;

const POLICY: &str = include_str!("../examples/org.yaml");

fn arb_finding() -> impl Strategy<Value = Finding> {
    (0usize..6, 0u8..6, any::<bool>(), 0u32..=100, any::<bool>()).prop_map(
        |(n, sev, fix, epss, kev)| {
            let mut f = lodash(&format!("CVE-2024-{n}"), &[]);
            f.severity = SeverityLevel::ALL[usize::from(sev)];
            if fix {
                f.fixed_versions = vec!["9".to_owned()];
            }
            f.epss = Some(Epss {
                score: epss as f32 / 100.0,
                percentile: epss as f32 / 100.0,
            });
            if kev {
                f.kev = Some(portcullis_types::Kev {
                    date_added: "2024-01-01".to_owned(),
                    due_date: None,
                    ransomware: None,
                    name: None,
                });
            }
            f
        },
    )
}

fn register(advisory: &str, stage: &str) -> Exceptions {
    Exceptions::parse(
        &format!("apiVersion: portcullis.dev/v1\nkind: Exceptions\nexceptions:\n  - advisory: {advisory}\n    scope: {{ organisation: true, stages: [{stage}] }}\n    justification: j\n    owner: o\n    approvedBy: s\n    approvedAt: 2025-01-01\n    expires: 2025-03-01\n"),
        "e.yaml",
    )
    .unwrap_or_default()
}

proptest! {
    #[test]
    fn exceptions_and_vex_never_make_a_decision_stricter(
        findings in proptest::collection::vec(arb_finding(), 0..8),
        stage in prop::sample::select(vec!["dev", "test", "prod"]),
        excepted in 0usize..6,
        vexed in 0usize..8,
        day in 0i64..120,
        root in any::<bool>(),
    ) {
        let set = PolicySet::new(parse::parse(POLICY, "org.yaml").map_err(|e| TestCaseError::fail(e.to_string()))?)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        let image = ImageFacts { user: Some(if root { "" } else { "app" }.to_owned()), ..ImageFacts::default() };
        let subject = Subject { stage, team: None, image: &image };
        let now = datetime!(2025-01-01 00:00:00 UTC) + time::Duration::days(day);
        let none = Exceptions::default();
        let eval = |f: &[Finding], v: &[Finding], e: &Exceptions| evaluate(&set, &subject, f, v, e, now).map(|d| d.outcome);
        let base = eval(&findings, &[], &none).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let with_exception = eval(&findings, &[], &register(&format!("CVE-2024-{excepted}"), stage))
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert!(with_exception <= base);
        let mut kept = findings.clone();
        let vex: Vec<Finding> = if vexed < kept.len() { vec![kept.remove(vexed)] } else { Vec::new() };
        let with_vex = eval(&kept, &vex, &none).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert!(with_vex <= base);
    }

    #[test]
    fn a_clean_image_always_passes(stage in prop::sample::select(vec!["dev", "test", "prod"]), day in 0i64..1000) {
        let set = PolicySet::new(parse::parse(POLICY, "org.yaml").map_err(|e| TestCaseError::fail(e.to_string()))?)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        let image = ImageFacts { user: Some("app".to_owned()), base_pinned: Some(true), ..ImageFacts::default() };
        let subject = Subject { stage, team: None, image: &image };
        let now = datetime!(2025-01-01 00:00:00 UTC) + time::Duration::days(day);
        let d = evaluate(&set, &subject, &[], &[], &Exceptions::default(), now).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(d.outcome, Outcome::Pass);
        prop_assert!(d.diagnostics.is_empty());
    }
}
