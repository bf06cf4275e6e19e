//! Policy and exceptions errors point at file, line and column (snapshots of the messages).

use portcullis_policy::policy::parse;
use portcullis_policy::{Exceptions, PolicyError};

fn error(text: &str) -> String {
    match parse::parse(text, "policy.yaml") {
        Ok(_) => "parsed without error".to_owned(),
        Err(e) => e.to_string(),
    }
}

const HEAD: &str =
    "apiVersion: portcullis.dev/v1\nkind: Policy\nmetadata: { name: org }\nspec:\n  stages:\n";

#[test]
fn unknown_field() {
    insta::assert_snapshot!(error(&format!(
        "{HEAD}    - name: prod\n      rules:\n        - name: r\n          when: {{ severityAtleast: high }}\n          action: block\n"
    )));
}

#[test]
fn bad_severity() {
    insta::assert_snapshot!(error(&format!(
        "{HEAD}    - name: prod\n      rules:\n        - name: r\n          when: {{ severityAtLeast: severe }}\n          action: block\n"
    )));
}

#[test]
fn duplicate_stage() {
    insta::assert_snapshot!(error(&format!(
        "{HEAD}    - name: prod\n    - name: test\n    - name: prod\n"
    )));
}

#[test]
fn overlapping_stages() {
    insta::assert_snapshot!(error(&format!(
        "{HEAD}    - name: pre-prod\n    - name: preprod\n"
    )));
}

#[test]
fn wrong_api_version_and_bad_action() {
    insta::assert_snapshot!(error(
        "apiVersion: v1\nkind: Policy\nmetadata: { name: org }\n"
    ));
    insta::assert_snapshot!(error(&format!(
        "{HEAD}    - name: prod\n      rules:\n        - {{ name: r, action: deny }}\n"
    )));
}

#[test]
fn json_is_accepted_and_its_errors_located() {
    let json = r#"{"apiVersion": "portcullis.dev/v1", "kind": "Policy", "metadata": {"name": "org"},
 "spec": {"stages": [{"name": "prod", "rules": [{"name": "kev", "when": {"kev": true}, "action": "block"}]}]}}"#;
    assert!(parse::parse(json, "policy.json").is_ok());
    insta::assert_snapshot!(error(&json.replace("\"kev\": true", "\"kve\": true")));
}

#[test]
fn an_exception_longer_than_the_maximum_is_a_lint_error() -> anyhow::Result<()> {
    let org = parse::parse(
        "apiVersion: portcullis.dev/v1\nkind: Policy\nmetadata: { name: org }\nspec:\n  maxExceptionDays: 90\n",
        "org.yaml",
    )?;
    let register = Exceptions::parse(
        "apiVersion: portcullis.dev/v1\nkind: Exceptions\nexceptions:\n  - advisory: CVE-1\n    scope: { team: a, stages: [staging] }\n    justification: j\n    owner: o\n    approvedBy: s\n    approvedAt: 2025-01-01\n    expires: 2025-04-02\n",
        "exceptions.yaml",
    )?;
    let errors: Vec<String> = register
        .lint(&org)
        .iter()
        .map(PolicyError::to_string)
        .collect();
    insta::assert_snapshot!(errors.join("\n"));
    // Exactly 90 days is allowed.
    let ok = Exceptions::parse(
        "apiVersion: portcullis.dev/v1\nkind: Exceptions\nexceptions:\n  - advisory: CVE-1\n    scope: { organisation: true }\n    justification: j\n    owner: o\n    approvedBy: s\n    approvedAt: 2025-01-01\n    expires: 2025-04-01\n",
        "exceptions.yaml",
    )?;
    assert!(ok.lint(&org).is_empty());
    Ok(())
}

#[test]
fn an_exception_without_expiry_or_with_two_scopes_is_rejected() {
    let base = "apiVersion: portcullis.dev/v1\nkind: Exceptions\nexceptions:\n  - advisory: CVE-1\n    scope: { team: a }\n    justification: j\n    owner: o\n    approvedBy: s\n    approvedAt: 2025-01-01\n";
    let Err(missing) = Exceptions::parse(base, "exceptions.yaml") else {
        panic!("expires is required")
    };
    let Err(two) = Exceptions::parse(
        &format!(
            "{}    expires: 2025-02-01\n",
            base.replace("{ team: a }", "{ team: a, image: 'sha256:aa' }")
        ),
        "exceptions.yaml",
    ) else {
        panic!("one scope only")
    };
    insta::assert_snapshot!(format!("{missing}\n{two}"));
}
