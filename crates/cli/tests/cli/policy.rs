//! Policies on the real test image: the same image passes in `dev`, nudges in
//! `test` and blocks in `prod` with the example organisation policy; an
//! exception changes the decision and says so; `policy lint` and `policy test`
//! as a security team runs them.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, ensure};
use serde_json::Value;

use crate::harness::{portcullis, run_ok, test_images};

fn examples() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../policy/tests/examples")
}

fn scan(home: &Path) -> Command {
    let mut cmd = portcullis();
    cmd.env("PORTCULLIS_HOME", home).arg("scan");
    cmd
}

#[test]
fn stages_decide_differently_and_exceptions_are_shown() -> anyhow::Result<()> {
    let images = test_images()?;
    let dir = tempfile::tempdir()?;
    let home = dir.path().join("home");
    let mut update = portcullis();
    update
        .env("PORTCULLIS_HOME", &home)
        .args(["db", "update", "-q"]);
    for name in ["pypa", "rustsec", "nodejs-wg", "cisa-kev"] {
        update.arg("--source").arg(
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../../../shared/vulndata")
                .join(format!("{name}.tar.gz")),
        );
    }
    run_ok(&mut update)?;
    let image = format!("oci:{}:bookworm-vuln", images.join("oci").display());
    let policy = examples().join("org.yaml");

    // Exit codes documented in `scan --help`: 0 pass, 3 nudge, 4 block.
    for (stage, code) in [("dev", 0), ("test", 3), ("prod", 4)] {
        let out = scan(&home)
            .args([
                &image,
                "-q",
                "-o",
                "/dev/null",
                "--stage",
                stage,
                "--policy",
            ])
            .arg(&policy)
            .output()?;
        ensure!(out.status.code() == Some(code), "{stage}: {out:?}");
    }
    let out = scan(&home)
        .args([
            &image,
            "-f",
            "json",
            "--stage",
            "prod",
            "--explain",
            "--policy",
        ])
        .arg(&policy)
        .output()?;
    let report: Value = serde_json::from_slice(&out.stdout)?;
    let decision = &report["decision"];
    ensure!(
        decision["outcome"] == "block" && decision["stage"] == "prod",
        "{decision}"
    );
    let codes: Vec<&str> = decision["diagnostics"]
        .as_array()
        .context("diagnostics")?
        .iter()
        .filter_map(|d| d["code"].as_str())
        .collect();
    // The test image sets no USER: it runs as root, which prod blocks.
    ensure!(
        codes == ["fixable-critical", "known-exploited", "runs-as-root"],
        "{codes:?}"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    ensure!(
        stderr.contains("decision: block for stage prod"),
        "{stderr}"
    );
    ensure!(stderr.contains("CVE-2023-4863 in Pillow 8.0.0"), "{stderr}");
    ensure!(
        stderr.contains("to pass: upgrade Pillow to ≥ 10.0.1"),
        "{stderr}"
    );

    // Accept the three vulnerabilities that nudge in test for the organisation:
    // the image passes there (running as root only warns in test), and the
    // decision lists each applied exception.
    let exceptions = dir.path().join("exceptions.yaml");
    // Approved today, expiring in 30 days (the policy allows at most 90).
    let day = time::macros::format_description!("[year]-[month]-[day]");
    let today = time::OffsetDateTime::now_utc();
    let approved = today.format(&day)?;
    let expires = (today + time::Duration::days(30)).format(&day)?;
    let mut text = String::from("apiVersion: portcullis.dev/v1\nkind: Exceptions\nexceptions:\n");
    for id in ["CVE-2023-4863", "CVE-2023-50447", "CVE-2021-25900"] {
        text.push_str(&format!(
            "  - advisory: {id}\n    scope:\n      organisation: true\n      stages: [test, prod]\n    justification: the decoder is not reachable from the network\n    compensatingControls: [images are processed in a sandbox]\n    owner: app-team@acme.example\n    approvedBy: security@acme.example\n    approvedAt: {approved}\n    expires: {expires}\n"
        ));
    }
    std::fs::write(&exceptions, text)?;
    let out = scan(&home)
        .args([
            &image,
            "-f",
            "json",
            "-o",
            "/dev/null",
            "--stage",
            "test",
            "--explain",
            "--policy",
        ])
        .arg(&policy)
        .arg("--exceptions")
        .arg(&exceptions)
        .output()?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    ensure!(out.status.code() == Some(0), "{stderr}");
    ensure!(stderr.contains("decision: pass for stage test"), "{stderr}");
    ensure!(stderr.contains("warn runs-as-root"), "{stderr}");
    ensure!(stderr.matches("exception-applied").count() >= 1, "{stderr}");
    Ok(())
}

#[test]
fn lint_points_at_the_line_and_policy_tests_run() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    run_ok(
        portcullis()
            .args(["policy", "lint"])
            .arg(examples().join("org.yaml")),
    )?;
    let bad = dir.path().join("bad.yaml");
    std::fs::write(
        &bad,
        "apiVersion: portcullis.dev/v1\nkind: Policy\nmetadata:\n  name: x\nspec:\n  stages:\n    - name: prod\n      rules:\n        - name: r\n          when: { severityAtLeast: severe }\n          action: block\n",
    )?;
    let out = portcullis().args(["policy", "lint"]).arg(&bad).output()?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    ensure!(out.status.code() == Some(2), "{out:?}");
    ensure!(stderr.contains("bad.yaml:10:"), "{stderr}");
    ensure!(stderr.contains("severe"), "{stderr}");

    let out = portcullis()
        .args(["policy", "test"])
        .arg(examples().join("cases"))
        .output()?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    ensure!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    ensure!(stdout.contains("8 passed, 0 failed"), "{stdout}");
    Ok(())
}

#[test]
fn expired_and_expiring_exceptions_are_listed() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let day = time::macros::format_description!("[year]-[month]-[day]");
    let today = time::OffsetDateTime::now_utc();
    let at = |days: i64| (today + time::Duration::days(days)).format(&day);
    let register = dir.path().join("exceptions.yaml");
    let entry = |id: &str, expires: &str| {
        format!(
            "  - advisory: {id}\n    scope:\n      organisation: true\n    justification: accepted\n    compensatingControls: [none]\n    owner: o@example.invalid\n    approvedBy: s@example.invalid\n    approvedAt: {}\n    expires: {expires}\n",
            at(-40).unwrap_or_default()
        )
    };
    std::fs::write(
        &register,
        format!(
            "apiVersion: portcullis.dev/v1\nkind: Exceptions\nexceptions:\n{}{}{}",
            entry("CVE-2020-0001", &at(-1)?),
            entry("CVE-2020-0002", &at(5)?),
            entry("CVE-2020-0003", &at(40)?)
        ),
    )?;
    let out = portcullis()
        .args(["policy", "exceptions", "--within", "14"])
        .arg(&register)
        .output()?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    ensure!(out.status.code() == Some(1), "{out:?}");
    let lines: Vec<&str> = stdout.lines().collect();
    ensure!(lines.len() == 2, "{stdout}");
    ensure!(
        lines[0].starts_with("expired ") && lines[0].contains("CVE-2020-0001"),
        "{stdout}"
    );
    ensure!(
        lines[1].starts_with("expiring") && lines[1].contains("CVE-2020-0002"),
        "{stdout}"
    );
    Ok(())
}
