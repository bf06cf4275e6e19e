//! The worked examples of POLICY.md, run as `portcullis policy test` runs them.

use std::path::Path;

use portcullis_policy::{Outcome, case_files, run_case};

#[test]
fn every_worked_example_gives_its_expected_decision() -> anyhow::Result<()> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/examples");
    let cases = case_files(&dir)?;
    assert_eq!(cases.len(), 8, "{cases:?}");
    let mut failures = Vec::new();
    for case in &cases {
        let result = run_case(case)?;
        if !result.passed() {
            failures.push(format!(
                "{}: expected {:?} {:?}, got {:#?}",
                result.file, result.expected_outcome, result.expected_codes, result.decision
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    Ok(())
}

#[test]
fn a_wrong_expectation_fails_the_case() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/examples");
    let text = std::fs::read_to_string(examples.join("cases/stage-prod.test.yaml"))?
        .replace("outcome: block", "outcome: pass")
        .replace("../", &format!("{}/", examples.display()));
    let case = dir.path().join("wrong.test.yaml");
    std::fs::write(&case, text)?;
    let result = run_case(&case)?;
    assert!(!result.passed());
    assert_eq!(result.decision.outcome, Outcome::Block);
    Ok(())
}
