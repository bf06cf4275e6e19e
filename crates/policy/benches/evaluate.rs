//! Evaluating the worked-example organisation policy (with a team policy and an
//! exceptions register) against 10,000 findings. Target: under 10 ms.

use portcullis_policy::policy::parse;
use portcullis_policy::{Exceptions, ImageFacts, PolicySet, Subject, evaluate};
use portcullis_types::{
    AffectedStatus, Ecosystem, Epss, Finding, FindingPackage, LayerRole, SeverityLevel,
};
use time::macros::datetime;

fn main() {
    divan::main();
}

fn findings(n: usize) -> Vec<Finding> {
    (0..n)
        .map(|i| Finding {
            id: format!("CVE-2024-{i:05}"),
            aliases: vec![format!("GHSA-{i:04x}-xxxx-yyyy")],
            package: FindingPackage {
                ecosystem: [Ecosystem::Deb, Ecosystem::Npm, Ecosystem::Python][i % 3],
                name: format!("package-{}", i % 400),
                version: "1.0.0".to_owned(),
                purl: format!("pkg:npm/package-{}@1.0.0", i % 400),
                source_name: None,
                source_version: None,
                layer: None,
                found_in: Vec::new(),
            },
            status: AffectedStatus::Affected,
            fixed_versions: if i % 2 == 0 {
                vec!["1.0.1".to_owned()]
            } else {
                Vec::new()
            },
            severity: SeverityLevel::ALL[i % 6],
            severity_source: None,
            cvss: None,
            severities: Vec::new(),
            epss: Some(Epss {
                score: (i % 100) as f32 / 100.0,
                percentile: (i % 100) as f32 / 100.0,
            }),
            kev: None,
            summary: None,
            published: Some("2024-03-01T00:00:00Z".to_owned()),
            references: Vec::new(),
            layer_role: Some(if i % 4 == 0 {
                LayerRole::Base
            } else {
                LayerRole::Application
            }),
            annotations: Vec::new(),
            matched: Vec::new(),
        })
        .collect()
}

const TEAM: &str = "apiVersion: portcullis.dev/v1\nkind: Policy\nmetadata: { name: payments, team: payments }\nspec:\n  stages:\n    - name: prod\n      rules:\n        - { name: known-exploited, when: { kev: true }, action: block }\n        - { name: no-old-parsers, when: { packages: [package-7, 'pkg:npm/package-9'], severityAtLeast: medium }, action: block }\n        - { name: base-high, when: { layer: base, severityAtLeast: high, ecosystems: [deb] }, action: nudge }\n";

const EXCEPTIONS: &str = "apiVersion: portcullis.dev/v1\nkind: Exceptions\nexceptions:\n  - advisory: CVE-2024-00042\n    scope: { team: payments, package: package-42 }\n    justification: j\n    owner: o\n    approvedBy: s\n    approvedAt: 2025-05-01\n    expires: 2025-07-01\n  - advisory: GHSA-0064-xxxx-yyyy\n    scope: { organisation: true }\n    justification: j\n    owner: o\n    approvedBy: s\n    approvedAt: 2025-05-01\n    expires: 2025-07-01\n";

#[divan::bench]
fn ten_thousand_findings(bencher: divan::Bencher) {
    let org =
        parse::parse(include_str!("../tests/examples/org.yaml"), "org.yaml").expect("valid policy");
    let mut set = PolicySet::new(org).expect("organisation policy");
    set.add_team(parse::parse(TEAM, "team.yaml").expect("valid team policy"))
        .expect("stricter");
    let exceptions = Exceptions::parse(EXCEPTIONS, "exceptions.yaml").expect("valid register");
    let findings = findings(10_000);
    let image = ImageFacts {
        user: Some("app".to_owned()),
        base_pinned: Some(true),
        ..ImageFacts::default()
    };
    let subject = Subject {
        stage: "prod",
        team: Some("payments"),
        image: &image,
    };
    let now = datetime!(2025-06-01 00:00:00 UTC);
    bencher.bench_local(|| {
        evaluate(
            &set,
            &subject,
            divan::black_box(&findings),
            &[],
            &exceptions,
            now,
        )
    });
}
