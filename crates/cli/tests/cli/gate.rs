//! `portcullis gate` and `portcullis approve` end to end: a real `portcullis server` on
//! loopback with the real advisory data, images pushed by skopeo (or by the gate itself),
//! and the gate run as a pipeline runs it (no terminal).

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, ensure};
use serde_json::Value;

use crate::harness::portcullis;
use crate::server_harness::{ADMIN, ServerProcess, layout, push};

/// Team `a` is nudged on urllib3 at prod and passes at dev; team `strict` blocks lodash.
const ORG_POLICY: &str = "apiVersion: portcullis.dev/v1
kind: Policy
metadata: { name: e2e-gate }
spec:
  stages:
    - name: dev
      rules: []
    - name: prod
      rules:
        - { name: urllib3-review, when: { packages: [urllib3] }, action: nudge }
";

const STRICT_POLICY: &str = "apiVersion: portcullis.dev/v1
kind: Policy
metadata: { name: strict, team: strict }
spec:
  stages:
    - name: prod
      rules:
        - { name: no-old-lodash, when: { packages: [lodash] }, action: block }
";

struct Setup {
    _dir: tempfile::TempDir,
    server: ServerProcess,
    developer: String,
    strict_developer: String,
    security: String,
}

fn token(server: &ServerProcess, name: &str, role: &str, teams: &[&str]) -> anyhow::Result<String> {
    let body = serde_json::json!({ "name": name, "role": role, "teams": teams });
    let (status, v) = server.send("POST", "/api/v1/tokens", ADMIN, &body.to_string())?;
    ensure!(status == 201, "creating token {name}: {status} {v}");
    v["token"]
        .as_str()
        .map(str::to_owned)
        .context("no token in the answer")
}

fn setup() -> anyhow::Result<Setup> {
    let dir = tempfile::tempdir()?;
    let server = ServerProcess::start(dir.path(), "")?;
    for team in ["a", "strict"] {
        server.create_team(team)?;
    }
    let (status, v) = server.send("PUT", "/api/v1/policies/organisation", ADMIN, ORG_POLICY)?;
    ensure!(status == 200, "{status} {v}");
    let (status, v) = server.send("PUT", "/api/v1/policies/team:strict", ADMIN, STRICT_POLICY)?;
    ensure!(status == 200, "{status} {v}");
    Ok(Setup {
        developer: token(&server, "ci-a", "developer", &["a"])?,
        strict_developer: token(&server, "ci-strict", "developer", &["strict"])?,
        security: token(&server, "sec-alice", "security", &[])?,
        server,
        _dir: dir,
    })
}

impl Setup {
    /// Pushes the test image `tag` to `to` with skopeo, as team `team`'s CI.
    fn push(&self, tag: &str, to: &str, token: &str) -> anyhow::Result<()> {
        let out = push(&self.server, &layout(tag)?, to, &format!("ci:{token}"), &[])?;
        ensure!(
            out.status.success(),
            "push: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Ok(())
    }

    fn command(&self, token: &str, args: &[&str]) -> Command {
        let mut cmd = portcullis();
        cmd.args(args)
            .env("PORTCULLIS_SERVER", self.server.url())
            .env("PORTCULLIS_TOKEN", token)
            .env_remove("PORTCULLIS_STAGE")
            .env_remove("PORTCULLIS_GATE_TIMEOUT")
            .stdin(Stdio::null());
        cmd
    }

    fn image(&self, repo_tag: &str) -> String {
        format!("{}/{repo_tag}", self.server.addr)
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn show(out: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}--- stderr\n{}",
        out.status.code(),
        text(&out.stdout),
        text(&out.stderr)
    )
}

#[test]
fn a_clean_image_passes_with_one_line() -> anyhow::Result<()> {
    let s = setup()?;
    s.push(
        "bookworm-vuln-deleted",
        "unscanned/a/clean:v1",
        &s.developer,
    )?;
    let out = s
        .command(&s.developer, &["gate", &s.image("unscanned/a/clean:v1")])
        .output()?;
    ensure!(out.status.code() == Some(0), "{}", show(&out));
    ensure!(
        text(&out.stdout)
            == "✔ pass: unscanned/a/clean:v1 at stage prod; deploy from scanned/a/clean:v1\n",
        "{}",
        show(&out)
    );
    // CI logs get plain progress lines, no spinner escapes.
    let err = text(&out.stderr);
    ensure!(
        err.contains("portcullis: decided: pass at stage prod") && !err.contains('\u{1b}'),
        "{err}"
    );
    Ok(())
}

#[test]
fn a_nudged_image_waits_for_an_approval_from_another_process_and_then_passes() -> anyhow::Result<()>
{
    let s = setup()?;
    s.push("bookworm-vuln", "unscanned/a/app:v1", &s.developer)?;
    let work = tempfile::tempdir()?;
    let stdout_path = work.path().join("gate.out");
    let junit = work.path().join("gate.xml");
    let mut gate = s
        .command(
            &s.developer,
            &[
                "gate",
                &s.image("unscanned/a/app:v1"),
                "--timeout",
                "2m",
                "--junit",
            ],
        )
        .arg(&junit)
        .stdout(std::fs::File::create(&stdout_path)?)
        .stderr(std::fs::File::create(work.path().join("gate.err"))?)
        .spawn()?;
    // The summary and the link are shown while it waits.
    let shown = wait_for_text(
        &stdout_path,
        "or: portcullis approve",
        Duration::from_secs(60),
    )?;
    ensure!(
        gate.try_wait()?.is_none(),
        "the gate must wait for an approval:\n{shown}"
    );
    ensure!(
        shown.starts_with("! nudge: unscanned/a/app:v1 (sha256:"),
        "{shown}"
    );
    ensure!(shown.contains("needs an approval"), "{shown}");
    ensure!(
        shown.contains("urllib3-review"),
        "the reason names the rule:\n{shown}"
    );
    ensure!(
        shown.contains("urllib3 1.24.1: fixed in 2.0.6, 1.26.17"),
        "findings with their fixes:\n{shown}"
    );
    ensure!(
        shown.contains("findings: ") && shown.contains(" high"),
        "counts by severity:\n{shown}"
    );
    ensure!(
        shown.contains(&format!("report:  {}/reports/", s.server.url())),
        "{shown}"
    );
    ensure!(
        shown.contains(&format!("approve: {}/approve/", s.server.url())),
        "{shown}"
    );
    // A developer may not approve; security approves from a second process.
    let denied = s
        .command(
            &s.developer,
            &[
                "approve",
                "unscanned/a/app:v1",
                "--reason",
                "looks fine to me",
            ],
        )
        .output()?;
    ensure!(denied.status.code() == Some(2), "{}", show(&denied));
    ensure!(
        text(&denied.stderr).contains("security"),
        "{}",
        show(&denied)
    );
    let reason = "urllib3 only serves the health check; upgrade tracked in PAY-118";
    let approved = s
        .command(
            &s.security,
            &["approve", "unscanned/a/app:v1", "--reason", reason],
        )
        .output()?;
    ensure!(approved.status.code() == Some(0), "{}", show(&approved));
    ensure!(
        text(&approved.stdout).contains("deploy from scanned/a/app:v1"),
        "{}",
        show(&approved)
    );
    let status = wait_exit(&mut gate, Duration::from_secs(30))?;
    let all = std::fs::read_to_string(&stdout_path)?;
    ensure!(status == Some(0), "exit {status:?}\n{all}");
    ensure!(
        all.ends_with(&format!(
            "✔ approved by sec-alice at stage prod: \"{reason}\"; deploy from scanned/a/app:v1\n"
        )),
        "{all}"
    );
    // JUnit for Jenkins: the reason is a passing case carrying the approval.
    let xml = std::fs::read_to_string(&junit)?;
    let doc = roxmltree::Document::parse(&xml)?;
    ensure!(
        doc.descendants().all(|n| !n.has_tag_name("failure")),
        "{xml}"
    );
    ensure!(xml.contains("approved by sec-alice"), "{xml}");
    // Approving twice is refused, saying why.
    let again = s
        .command(
            &s.security,
            &["approve", "unscanned/a/app:v1", "--reason", reason],
        )
        .output()?;
    ensure!(
        again.status.code() == Some(2) && text(&again.stderr).contains("409"),
        "{}",
        show(&again)
    );
    Ok(())
}

#[test]
fn a_nudge_nobody_approves_times_out_with_exit_code_3() -> anyhow::Result<()> {
    let s = setup()?;
    s.push("bookworm-vuln", "unscanned/a/slow:v1", &s.developer)?;
    let started = Instant::now();
    let out = s
        .command(
            &s.developer,
            &[
                "gate",
                &s.image("unscanned/a/slow:v1"),
                "--timeout",
                "2s",
                "--format",
                "json",
            ],
        )
        .output()?;
    ensure!(out.status.code() == Some(3), "{}", show(&out));
    ensure!(
        started.elapsed() >= Duration::from_secs(2),
        "it waited the timeout"
    );
    let v: Value = serde_json::from_slice(&out.stdout).with_context(|| show(&out))?;
    ensure!(
        v["result"] == "timed_out" && v["exitCode"] == 3 && v["outcome"] == "nudge",
        "{v}"
    );
    ensure!(v["approval"].is_null() && v["promotedTo"].is_null(), "{v}");
    ensure!(v["waited"] == "2s", "{v}");
    let ways = v["waysOut"].to_string();
    ensure!(
        ways.contains("upgrade urllib3 from 1.24.1 to 2.7.0 or later"),
        "{ways}"
    );
    // With JSON on stdout, the people's screens go to stderr.
    let err = text(&out.stderr);
    ensure!(
        err.contains("! nudge: unscanned/a/slow:v1")
            && err.contains("✖ no approval within 2s (exit code 3)"),
        "{err}"
    );
    // --timeout 0: not waited for at all.
    let out = s
        .command(
            &s.developer,
            &["gate", &s.image("unscanned/a/slow:v1"), "--timeout", "0"],
        )
        .output()?;
    ensure!(out.status.code() == Some(3), "{}", show(&out));
    ensure!(
        text(&out.stdout).contains("✖ not approved yet (exit code 3)"),
        "{}",
        show(&out)
    );
    Ok(())
}

#[test]
fn a_blocked_image_exits_with_code_4_its_reasons_and_the_ways_out() -> anyhow::Result<()> {
    let s = setup()?;
    s.push(
        "bookworm-vuln",
        "unscanned/strict/app:v1",
        &s.strict_developer,
    )?;
    let work = tempfile::tempdir()?;
    let junit = work.path().join("gate.xml");
    let out = s
        .command(
            &s.strict_developer,
            &["gate", &s.image("unscanned/strict/app:v1"), "--junit"],
        )
        .arg(&junit)
        .output()?;
    ensure!(out.status.code() == Some(4), "{}", show(&out));
    let o = text(&out.stdout);
    ensure!(
        o.starts_with("✖ block: unscanned/strict/app:v1 (sha256:"),
        "{o}"
    );
    ensure!(
        o.contains("block no-old-lodash (team strict: prod/no-old-lodash)"),
        "{o}"
    );
    ensure!(o.contains("lodash 4.17.4: fixed in 4.17.11"), "{o}");
    ensure!(
        o.contains("ways out:\n    - upgrade lodash from 4.17.4 to 4.17.11 or later"),
        "{o}"
    );
    ensure!(o.contains("ask the security team for an exception"), "{o}");
    ensure!(!o.contains("approve:"), "a block offers no approval:\n{o}");
    let xml = std::fs::read_to_string(&junit)?;
    let doc = roxmltree::Document::parse(&xml)?;
    let failures: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("failure"))
        .collect();
    // The blocking rule fails, and so does the (unapproved) nudge that came with it.
    let types: Vec<_> = failures
        .iter()
        .filter_map(|f| f.attribute("type"))
        .collect();
    ensure!(types == ["block", "nudge"], "{xml}");
    Ok(())
}

#[test]
fn the_gate_pushes_an_oci_layout_itself_and_follows_another_stage() -> anyhow::Result<()> {
    let s = setup()?;
    let images = crate::harness::test_images()?;
    let source = format!("oci:{}:bookworm-vuln", images.join("oci").display());
    let out = s
        .command(
            &s.developer,
            &[
                "gate",
                &s.image("unscanned/a/pushed:v1"),
                "--push",
                &source,
                "--stage",
                "dev",
            ],
        )
        .output()?;
    // At dev the organisation policy has no rule: a pass, though prod still waits.
    ensure!(out.status.code() == Some(0), "{}", show(&out));
    ensure!(
        text(&out.stdout) == "✔ pass: unscanned/a/pushed:v1 at stage dev\n",
        "{}",
        show(&out)
    );
    ensure!(
        text(&out.stderr).contains("portcullis: pushed oci:"),
        "{}",
        show(&out)
    );
    let prod = s
        .command(
            &s.developer,
            &[
                "gate",
                &s.image("unscanned/a/pushed:v1"),
                "--timeout",
                "0",
                "--format",
                "json",
            ],
        )
        .output()?;
    ensure!(prod.status.code() == Some(3), "{}", show(&prod));
    Ok(())
}

#[test]
fn the_gate_says_what_is_wrong_with_bad_input() -> anyhow::Result<()> {
    let s = setup()?;
    let cases: Vec<(Vec<String>, Option<&str>, &str)> = vec![
        (
            vec!["gate".into(), "unscanned/a/app".into()],
            Some(&s.developer),
            "names no tag or digest",
        ),
        (
            vec!["gate".into(), s.image("unscanned/a/app:v1")],
            None,
            "an API token is required",
        ),
        (
            vec!["gate".into(), s.image("unscanned/a/never:v1")],
            Some(&s.developer),
            "push it first (or use --push)",
        ),
        (
            vec![
                "gate".into(),
                s.image("unscanned/a/app:v1"),
                "--timeout".into(),
                "soon".into(),
            ],
            Some(&s.developer),
            "is not a duration",
        ),
        (
            vec![
                "gate".into(),
                s.image("unscanned/a/app:v1"),
                "--push".into(),
                "oci:/nonexistent/layout".into(),
            ],
            Some(&s.developer),
            "/nonexistent/layout",
        ),
        (
            vec![
                "approve".into(),
                "unscanned/a/app:v1".into(),
                "--reason".into(),
                " ".into(),
            ],
            Some(&s.security),
            "--reason is empty",
        ),
    ];
    for (args, token, expected) in cases {
        let mut cmd = s.command(
            token.unwrap_or(""),
            &args.iter().map(String::as_str).collect::<Vec<_>>(),
        );
        if token.is_none() {
            cmd.env_remove("PORTCULLIS_TOKEN");
        }
        let out = cmd.output()?;
        ensure!(out.status.code() == Some(2), "{args:?}: {}", show(&out));
        ensure!(
            text(&out.stderr).contains(expected),
            "{args:?} should say `{expected}`: {}",
            show(&out)
        );
    }
    Ok(())
}

fn wait_for_text(path: &Path, needle: &str, within: Duration) -> anyhow::Result<String> {
    let deadline = Instant::now() + within;
    loop {
        let t = std::fs::read_to_string(path).unwrap_or_default();
        if t.contains(needle) {
            return Ok(t);
        }
        ensure!(
            Instant::now() < deadline,
            "`{needle}` did not appear in {}:\n{t}",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn wait_exit(child: &mut std::process::Child, within: Duration) -> anyhow::Result<Option<i32>> {
    let deadline = Instant::now() + within;
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(status.code());
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            anyhow::bail!("the gate did not exit within {within:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Runs the gate under a pseudo-terminal (util-linux `script`), typing `answer`.
fn gate_at_terminal(s: &Setup, token: &str, image: &str, answer: &str) -> anyhow::Result<Output> {
    crate::harness::require("script", "apt-get install -y bsdutils")?;
    let binary = assert_cmd::cargo::cargo_bin("portcullis");
    let line = format!("'{}' gate '{image}' --timeout 5s", binary.display());
    let mut child = Command::new("script")
        .args(["-qfec", &line, "/dev/null"])
        .env("PORTCULLIS_SERVER", s.server.url())
        .env("PORTCULLIS_TOKEN", token)
        .env_remove("PORTCULLIS_STAGE")
        .env_remove("PORTCULLIS_GATE_TIMEOUT")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    {
        use std::io::Write as _;
        let mut stdin = child.stdin.take().context("no stdin")?;
        stdin.write_all(answer.as_bytes())?;
    }
    Ok(child.wait_with_output()?)
}

#[test]
fn an_approver_at_a_terminal_is_asked_for_a_reason_and_a_developer_is_not() -> anyhow::Result<()> {
    let s = setup()?;
    s.push("bookworm-vuln", "unscanned/a/tty:v1", &s.developer)?;
    // An empty answer declines: exit 3, nothing approved.
    let out = gate_at_terminal(&s, &s.security, &s.image("unscanned/a/tty:v1"), "\n")?;
    let screen = text(&out.stdout);
    ensure!(out.status.code() == Some(3), "{}", show(&out));
    ensure!(
        screen.contains("Type the reason to approve, or press Enter to decline"),
        "{screen}"
    );
    ensure!(
        screen.contains("declined at the terminal (exit code 3)"),
        "{screen}"
    );
    let (_, approvals) = s.server.get("/api/v1/images/1/approvals", ADMIN)?;
    ensure!(
        approvals["approvals"].as_array().is_some_and(Vec::is_empty),
        "{approvals}"
    );
    // A reason approves, and is recorded with the approver.
    let reason = "accepted for the release; upgrade in PAY-200";
    let out = gate_at_terminal(
        &s,
        &s.security,
        &s.image("unscanned/a/tty:v1"),
        &format!("{reason}\n"),
    )?;
    ensure!(out.status.code() == Some(0), "{}", show(&out));
    ensure!(
        text(&out.stdout).contains(&format!(
            "✔ approved by sec-alice at stage prod: \"{reason}\"; deploy from scanned/a/tty:v1"
        )),
        "{}",
        show(&out)
    );
    let (_, approvals) = s.server.get("/api/v1/images/1/approvals", ADMIN)?;
    ensure!(
        approvals["approvals"][0]["approver"] == "sec-alice"
            && approvals["approvals"][0]["reason"] == reason,
        "{approvals}"
    );
    // A developer at a terminal cannot approve: no question, the gate waits and times out.
    s.push("bookworm-vuln", "unscanned/a/tty2:v1", &s.developer)?;
    let out = gate_at_terminal(&s, &s.developer, &s.image("unscanned/a/tty2:v1"), "")?;
    ensure!(out.status.code() == Some(3), "{}", show(&out));
    ensure!(
        !text(&out.stdout).contains("Type the reason"),
        "{}",
        show(&out)
    );
    ensure!(
        text(&out.stdout).contains("no approval within 5s"),
        "{}",
        show(&out)
    );
    Ok(())
}

#[test]
fn a_multi_platform_index_is_pushed_and_explained_per_platform() -> anyhow::Result<()> {
    let s = setup()?;
    let dir = tempfile::tempdir()?;
    let (source, index_digest, _, _) = crate::server::multi_platform_layout(dir.path())?;
    let out = s
        .command(
            &s.developer,
            &[
                "gate",
                &s.image("unscanned/a/multi:v1"),
                "--push",
                &source,
                "--timeout",
                "0",
                "--format",
                "json",
            ],
        )
        .output()?;
    ensure!(out.status.code() == Some(3), "{}", show(&out));
    let v: Value = serde_json::from_slice(&out.stdout).with_context(|| show(&out))?;
    ensure!(v["digest"] == index_digest.as_str(), "{v}");
    let platforms: Vec<(String, String)> = v["platforms"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| {
            (
                p["platform"].as_str().unwrap_or("").to_owned(),
                p["outcome"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    ensure!(
        platforms
            == [
                ("linux/amd64".to_owned(), "nudge".to_owned()),
                ("linux/arm64".to_owned(), "pass".to_owned())
            ],
        "{v}"
    );
    // Only amd64 carries urllib3: the reason is labelled with its platform.
    ensure!(v["diagnostics"][0]["platform"] == "linux/amd64", "{v}");
    let err = text(&out.stderr);
    ensure!(
        err.contains("linux/amd64 (nudge): findings:")
            && err.contains("linux/arm64 (pass): findings:"),
        "{err}"
    );
    ensure!(err.contains("nudge [linux/amd64] urllib3-review"), "{err}");
    Ok(())
}

#[test]
fn a_scan_that_fails_ends_the_gate_with_the_error_code_and_its_reason() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    // No advisory database: every scan fails; one retry, one second apart.
    let server = ServerProcess::start_with_home(
        dir.path(),
        "scan-attempts = 2\nscan-retry-seconds = 1\n",
        dir.path().join("no-advisories"),
    )?;
    server.create_team("a")?;
    let (status, v) = server.send("PUT", "/api/v1/policies/organisation", ADMIN, ORG_POLICY)?;
    ensure!(status == 200, "{status} {v}");
    let out = push(
        &server,
        &layout("bookworm-vuln-deleted")?,
        "unscanned/a/app:v1",
        &format!("admin:{ADMIN}"),
        &[],
    )?;
    ensure!(out.status.success(), "{}", text(&out.stderr));
    let out = portcullis()
        .args(["gate", &format!("{}/unscanned/a/app:v1", server.addr)])
        .env("PORTCULLIS_SERVER", server.url())
        .env("PORTCULLIS_TOKEN", ADMIN)
        .stdin(Stdio::null())
        .output()?;
    ensure!(out.status.code() == Some(2), "{}", show(&out));
    let err = text(&out.stderr);
    ensure!(
        err.contains("error: unscanned/a/app:v1 could not be scanned: the scan of sha256:")
            && err.contains("db update")
            && err.contains("then push it again"),
        "{}",
        show(&out)
    );
    ensure!(out.stdout.is_empty(), "{}", show(&out));
    // As the error says: build the database, push again, and the image is scanned again.
    let home = dir.path().join("no-advisories");
    std::fs::create_dir_all(&home)?;
    let copied = Command::new("cp")
        .arg("-r")
        .arg(format!(
            "{}/.",
            crate::server_harness::advisory_home()?.display()
        ))
        .arg(&home)
        .status()?;
    ensure!(copied.success(), "copying the advisory index");
    let out = portcullis()
        .args([
            "gate",
            &format!("{}/unscanned/a/app:v1", server.addr),
            "--push",
        ])
        .arg(layout("bookworm-vuln-deleted")?)
        .env("PORTCULLIS_SERVER", server.url())
        .env("PORTCULLIS_TOKEN", ADMIN)
        .stdin(Stdio::null())
        .output()?;
    ensure!(out.status.code() == Some(0), "{}", show(&out));
    ensure!(
        text(&out.stdout).starts_with("✔ pass: unscanned/a/app:v1"),
        "{}",
        show(&out)
    );
    let (_, audit) = server.get("/api/v1/audit?limit=1000", ADMIN)?;
    ensure!(audit.to_string().contains("image.requeued"), "{audit}");
    Ok(())
}
