//! `portcullis gate`: the step a pipeline runs after pushing an image. It waits for the
//! server's decision, shows a pass in one line, and for a nudge a summary and a link while
//! it waits for a human approval; a block says why and how to get out.

mod model;
mod screens;
mod target;
#[cfg(test)]
mod tests;

use std::io::{BufRead as _, IsTerminal as _, Write as _};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use clap::{Args, ValueEnum};
use portcullis_policy::Outcome;
use portcullis_report::{PolicyDecision, ScanReport};
use serde_json::{Value, json};

use super::api_client::{ApiClient, Refused, query_value};
use crate::output;
use model::{Approval, Gate, GateResult, Links, PlatformDecision};
pub use target::Target;

const EXIT_HELP: &str = "\
Exit codes:
  0  passed, or approved
  2  error (bad arguments, server unreachable, the scan failed)
  3  nudged and not approved (declined, timed out, or --timeout 0)
  4  blocked";

/// `portcullis gate IMAGE`.
#[derive(Debug, Args)]
#[command(after_help = EXIT_HELP)]
pub struct GateArgs {
    /// The image in the server's registry: [HOST[:PORT]/]unscanned/<team>/<app>:TAG (or @DIGEST)
    image: String,
    #[command(flatten)]
    server: ServerArgs,
    /// The stage the pipeline deploys to (dev, test, prod…); the server's promotion stage by default
    #[arg(long, env = "PORTCULLIS_STAGE")]
    stage: Option<String>,
    /// Push this image to IMAGE first: oci:DIR[:TAG] or docker-archive:FILE[:REF]
    #[arg(long, value_name = "SOURCE")]
    push: Option<String>,
    /// How long to wait for an approval of a nudge (30s, 10m, 1h); 0 to not wait
    #[arg(long, env = "PORTCULLIS_GATE_TIMEOUT", default_value = "30m", value_parser = parse_duration)]
    timeout: Duration,
    /// How long to wait for the scan and the decision
    #[arg(long, default_value = "10m", value_parser = parse_duration)]
    scan_timeout: Duration,
    /// What to print on standard output
    #[arg(long, value_enum, default_value_t = GateFormat::Text)]
    format: GateFormat,
    /// Also write JUnit XML here (for Jenkins' junit step, GitLab's junit report)
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
    /// Never ask at the terminal (by default an approver at a terminal is asked)
    #[arg(long)]
    no_input: bool,
}

/// Where the server is and who calls it.
#[derive(Debug, Args)]
pub struct ServerArgs {
    /// The server's URL
    #[arg(
        long,
        env = "PORTCULLIS_SERVER",
        default_value = "http://127.0.0.1:5000"
    )]
    pub server: String,
    /// An API token (CI: a developer token of the team; approving: a security token)
    #[arg(long, env = "PORTCULLIS_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Accept any TLS certificate (test servers only)
    #[arg(long)]
    pub insecure: bool,
}

impl ServerArgs {
    pub fn client(&self) -> anyhow::Result<ApiClient> {
        let token = self.token.clone().context(
            "an API token is required: --token TOKEN or PORTCULLIS_TOKEN (`portcullis admin token create` makes one)",
        )?;
        if !(self.server.starts_with("http://") || self.server.starts_with("https://")) {
            bail!(
                "--server `{}` is not a URL; expected http://HOST:PORT or https://HOST",
                self.server
            );
        }
        Ok(ApiClient::new(
            &self.server,
            token,
            Duration::from_secs(60),
            self.insecure,
        ))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum GateFormat {
    /// Screens for people
    Text,
    /// The whole answer as JSON (screens go to standard error)
    Json,
    /// JUnit XML (screens go to standard error)
    Junit,
}

pub fn parse_duration(s: &str) -> Result<Duration, String> {
    if s.trim() == "0" {
        return Ok(Duration::ZERO);
    }
    humantime::parse_duration(s.trim())
        .map_err(|e| format!("`{s}` is not a duration ({e}); write e.g. 90s, 10m or 1h"))
}

fn human(d: Duration) -> String {
    humantime::format_duration(Duration::from_secs(d.as_secs())).to_string()
}

pub fn run(args: GateArgs) -> anyhow::Result<ExitCode> {
    let target = Target::parse(&args.image)?;
    let client = args.server.client()?;
    let people = Screen::new(args.format == GateFormat::Text);
    let progress = Progress::new(std::io::stderr().is_terminal());
    if let Some(source) = &args.push {
        let started = Instant::now();
        let host = target.registry_host(client.base())?;
        let digest = push(&args.server, source, &host, &target)?;
        progress.line(&format!(
            "pushed {source} to {host}/{} ({}) in {:.1}s",
            target.display(),
            model::short(&digest),
            started.elapsed().as_secs_f64()
        ));
    }
    let pushed = Instant::now();
    let image = wait_for_decision(&client, &target, args.scan_timeout, &progress)?;
    let id = image
        .get("id")
        .and_then(Value::as_i64)
        .context("the server's answer has no image id")?;
    let stage = args
        .stage
        .clone()
        .or_else(|| str_at(&image, "/stage"))
        .unwrap_or_else(|| "prod".to_owned());
    let decision = client.get(&format!(
        "/api/v1/images/{id}/decision?stage={}",
        query_value(&stage)
    ))?;
    progress.line(&format!(
        "decided: {} at stage {stage}, {:.1}s after {}",
        str_at(&decision, "/outcome").unwrap_or_default(),
        pushed.elapsed().as_secs_f64(),
        if args.push.is_some() {
            "the push"
        } else {
            "the gate started"
        }
    ));
    let mut gate = build(&client, &target, &image, &decision, &stage)?;
    people.print(&screens::decision(&gate, &target.display()));
    if gate.outcome == Outcome::Nudge && gate.approval.is_none() {
        let may_approve = image
            .pointer("/permissions/approve")
            .and_then(Value::as_bool)
            == Some(true);
        let interactive = !args.no_input
            && args.format == GateFormat::Text
            && may_approve
            && std::io::stdin().is_terminal()
            && std::io::stderr().is_terminal();
        let (result, approved) = if interactive {
            ask(&client, id, &stage, &target)?
        } else if args.timeout.is_zero() {
            (GateResult::AwaitingApproval, None)
        } else {
            gate.waited = Some(human(args.timeout));
            wait_for_approval(&client, id, &stage, args.timeout, &progress)?
        };
        gate.result = result;
        // Who approved, and where it went, as the server now says.
        if let Some(now) = approved {
            gate.approval = approval(&now);
            gate.promoted_to = promoted_to(&now, &target);
        }
        if gate.result != GateResult::Approved {
            gate.ways_out = model::ways_out(&gate.diagnostics, &gate.links);
        }
        gate.exit_code = gate.result.exit_code();
        people.print(&screens::settled(&gate));
    } else if gate.result == GateResult::Approved {
        // Approved before this run (say, after `--timeout 0` and an approval elsewhere).
        people.print(&screens::settled(&gate));
    }
    if let Some(path) = &args.junit {
        output::write_data(Some(path), screens::junit(&gate).as_bytes())?;
    }
    match args.format {
        GateFormat::Text => {}
        GateFormat::Json => output::write_data(
            None,
            format!("{}\n", serde_json::to_string_pretty(&gate)?).as_bytes(),
        )?,
        GateFormat::Junit => output::write_data(None, screens::junit(&gate).as_bytes())?,
    }
    Ok(ExitCode::from(gate.exit_code))
}

/// Pushes `source` to the server's registry, with the API token as the password.
fn push(server: &ServerArgs, source: &str, host: &str, target: &Target) -> anyhow::Result<String> {
    use portcullis_registry_client::{Client, ClientOptions, Credentials, PushSource, Reference};
    let parsed = PushSource::parse(source)?;
    let reference: Reference = format!(
        "{host}/{}{}{}",
        target.repository,
        if target::is_digest(&target.reference) {
            "@"
        } else {
            ":"
        },
        target.reference
    )
    .parse()
    .with_context(|| format!("`{host}/{}` is not a registry reference", target.display()))?;
    let client = Client::new(ClientOptions {
        // A server reached over plain HTTP has its registry on the same port, without TLS.
        insecure: server.insecure || server.server.starts_with("http://"),
        credentials: server.token.clone().map(|password| Credentials {
            username: "portcullis".to_owned(),
            password,
        }),
        ..ClientOptions::default()
    })?;
    let pushed = client
        .push(&parsed, &reference, &mut |_| {})
        .with_context(|| format!("cannot push {source} to {host}/{}", target.display()))?;
    Ok(pushed.digest.to_string())
}

/// Follows the image until it is decided (or `timeout`), showing its state.
fn wait_for_decision(
    client: &ApiClient,
    target: &Target,
    timeout: Duration,
    progress: &Progress,
) -> anyhow::Result<Value> {
    let path = format!(
        "/api/v1/images/lookup?repository={}&reference={}",
        query_value(&target.repository),
        query_value(&target.reference)
    );
    let started = Instant::now();
    let mut last_state = String::new();
    let mut pause = Duration::from_millis(100);
    loop {
        match client.get(&path) {
            Ok(image) => {
                let state = str_at(&image, "/state").unwrap_or_default();
                if state != last_state {
                    progress.state(&format!("{}: {}", target.display(), describe_state(&state)));
                    last_state.clone_from(&state);
                }
                match state.as_str() {
                    "queued" | "scanning" => {}
                    "failed" => {
                        progress.clear();
                        bail!(
                            "{} could not be scanned: {}; fix the cause, then push it again",
                            target.display(),
                            str_at(&image, "/reason").unwrap_or_default()
                        );
                    }
                    _ => {
                        progress.clear();
                        return Ok(image);
                    }
                }
            }
            // The push commits the image with the manifest: not there means not pushed.
            Err(e) if e.downcast_ref::<Refused>().is_some_and(|r| r.status == 404) => {
                progress.clear();
                return Err(e.context(format!(
                    "{} is not in the server's registry; push it first (or use --push)",
                    target.display()
                )));
            }
            Err(e) => return Err(e),
        }
        if started.elapsed() >= timeout {
            progress.clear();
            bail!(
                "no decision on {} within {} (state: {}); check the server's workers, or raise --scan-timeout",
                target.display(),
                human(timeout),
                if last_state.is_empty() {
                    "not found"
                } else {
                    &last_state
                }
            );
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(250));
    }
}

fn describe_state(state: &str) -> &str {
    match state {
        "queued" => "queued for scanning",
        "scanning" => "scanning",
        "promoted" => "promoted",
        "awaiting_approval" => "awaiting an approval",
        "rejected" => "rejected",
        other => other,
    }
}

/// Waits for an approval at `stage`, polling the decision.
/// Waits for an approval at `stage`, polling the decision; with one, the decision then.
fn wait_for_approval(
    client: &ApiClient,
    id: i64,
    stage: &str,
    timeout: Duration,
    progress: &Progress,
) -> anyhow::Result<(GateResult, Option<Value>)> {
    let started = Instant::now();
    progress.state(&format!("waiting up to {} for an approval", human(timeout)));
    let path = format!("/api/v1/images/{id}/decision?stage={}", query_value(stage));
    loop {
        let d = client.get(&path)?;
        if approval(&d).is_some() {
            progress.clear();
            return Ok((GateResult::Approved, Some(d)));
        }
        if started.elapsed() >= timeout {
            progress.clear();
            return Ok((GateResult::TimedOut, None));
        }
        std::thread::sleep(Duration::from_secs(1).min(timeout.saturating_sub(started.elapsed())));
    }
}

/// Asks the approver at the terminal for a reason; an empty answer declines.
fn ask(
    client: &ApiClient,
    id: i64,
    stage: &str,
    target: &Target,
) -> anyhow::Result<(GateResult, Option<Value>)> {
    let mut err = std::io::stderr().lock();
    let _ = write!(
        err,
        "Approve {} for {stage}? Type the reason to approve, or press Enter to decline: ",
        target.display()
    );
    let _ = err.flush();
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("failed to read the answer")?;
    let reason = line.trim();
    if reason.is_empty() {
        return Ok((GateResult::Declined, None));
    }
    client.post(
        &format!("/api/v1/images/{id}/approvals"),
        json!({ "reason": reason, "stage": stage }),
    )?;
    let now = client.get(&format!(
        "/api/v1/images/{id}/decision?stage={}",
        query_value(stage)
    ))?;
    Ok((GateResult::Approved, Some(now)))
}

/// The gate's model from the image, its decision at `stage` and the platforms' reports.
fn build(
    client: &ApiClient,
    target: &Target,
    image: &Value,
    decision: &Value,
    stage: &str,
) -> anyhow::Result<Gate> {
    let id = image.get("id").and_then(Value::as_i64).unwrap_or_default();
    let outcome = match str_at(decision, "/outcome").as_deref() {
        Some("pass") => Outcome::Pass,
        Some("nudge") => Outcome::Nudge,
        Some("block") => Outcome::Block,
        other => bail!(
            "the server gave no decision at stage {stage} (outcome {other:?}): {}",
            str_at(decision, "/reason").unwrap_or_default()
        ),
    };
    let mut platforms = Vec::new();
    for p in decision
        .get("platforms")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let digest = str_at(p, "/digest").unwrap_or_default();
        let policy: PolicyDecision =
            serde_json::from_value(p.get("decision").cloned().unwrap_or(Value::Null))
                .with_context(|| format!("the server's decision for {digest} is unreadable"))?;
        // The reports give the findings' severities and fixes; a pass needs none.
        let report = if policy.decision.outcome == Outcome::Pass {
            None
        } else {
            let path = format!(
                "/api/v1/images/{id}/report?platform={}",
                query_value(&digest)
            );
            Some(
                serde_json::from_value::<ScanReport>(client.get(&path)?)
                    .context("the server's report is unreadable")?,
            )
        };
        platforms.push(PlatformDecision {
            platform: str_at(p, "/platform"),
            digest,
            decision: policy,
            report,
        });
    }
    let (summaries, diagnostics) = model::explain(&platforms);
    let links = Links {
        report: str_at(image, "/links/report"),
        approve: str_at(image, "/links/approve")
            .map(|l| format!("{l}?stage={}", query_value(stage))),
    };
    let result = match outcome {
        Outcome::Pass => GateResult::Passed,
        Outcome::Block => GateResult::Blocked,
        Outcome::Nudge if approval(decision).is_some() => GateResult::Approved,
        Outcome::Nudge => GateResult::AwaitingApproval,
    };
    let ways_out = if outcome == Outcome::Block {
        model::ways_out(&diagnostics, &links)
    } else {
        Vec::new()
    };
    Ok(Gate {
        image: target.display(),
        digest: str_at(image, "/digest").unwrap_or_default(),
        id,
        stage: stage.to_owned(),
        outcome,
        result,
        exit_code: result.exit_code(),
        promoted_to: promoted_to(decision, target),
        approval: approval(decision),
        platforms: summaries,
        diagnostics,
        ways_out,
        links,
        waited: None,
    })
}

fn approval(decision: &Value) -> Option<Approval> {
    let a = decision.get("approval").filter(|a| !a.is_null())?;
    Some(Approval {
        approver: str_at(a, "/approver")?,
        reason: str_at(a, "/reason").unwrap_or_default(),
        at: str_at(a, "/at").unwrap_or_default(),
    })
}

/// Where deployments pull the image from once promoted: the scanned repository with the
/// pushed tag (or digest).
fn promoted_to(decision: &Value, target: &Target) -> Option<String> {
    Some(target.in_repository(&str_at(decision, "/promotedTo")?))
}

fn str_at(v: &Value, pointer: &str) -> Option<String> {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .map(str::to_owned)
}

/// Where the screens for people go: stdout with `--format text`, else stderr.
struct Screen {
    stdout: bool,
}

impl Screen {
    fn new(stdout: bool) -> Self {
        Self { stdout }
    }

    fn print(&self, text: &str) {
        if text.is_empty() {
            return;
        }
        if self.stdout {
            let _ = output::write_data(None, text.as_bytes());
        } else {
            output::note(text.trim_end_matches('\n'));
        }
    }
}

/// A spinner on a terminal; plain lines on stderr in CI logs.
struct Progress {
    terminal: bool,
    spinner: std::cell::RefCell<Option<indicatif::ProgressBar>>,
}

impl Progress {
    fn new(terminal: bool) -> Self {
        Self {
            terminal,
            spinner: std::cell::RefCell::new(None),
        }
    }

    /// The current state: the spinner's message (started on first use), or a line.
    fn state(&self, message: &str) {
        if !self.terminal {
            output::note(&format!("portcullis: {message}"));
            return;
        }
        let mut spinner = self.spinner.borrow_mut();
        let s = spinner.get_or_insert_with(|| {
            let s = indicatif::ProgressBar::new_spinner();
            if let Ok(style) =
                indicatif::ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
            {
                s.set_style(style);
            }
            s.enable_steady_tick(Duration::from_millis(120));
            s
        });
        s.set_message(message.to_owned());
    }

    /// A line that stays.
    fn line(&self, message: &str) {
        match self.spinner.borrow().as_ref() {
            Some(s) => s.println(message),
            None if self.terminal => output::note(message),
            None => output::note(&format!("portcullis: {message}")),
        }
    }

    /// Takes the spinner off the screen before a screen or a question is printed.
    fn clear(&self) {
        if let Some(s) = self.spinner.borrow_mut().take() {
            s.finish_and_clear();
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.clear();
    }
}
