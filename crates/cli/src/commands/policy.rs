//! `portcullis policy lint FILE` and `portcullis policy test DIR`: let a
//! security team change a policy safely.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Args, Subcommand};
use portcullis_policy::policy::parse;

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Check a policy or exceptions file: exit 0, or 2 with FILE:LINE:COLUMN errors
    Lint(LintArgs),
    /// Run the policy tests (`*.test.yaml`) under DIR: prints pass or fail per case, exit 1
    /// when one fails
    Test(TestArgs),
    /// List the exceptions of a register that have expired or expire within --within
    /// days: exit 0 when there are none, 1 otherwise
    Exceptions(ExceptionsArgs),
}

#[derive(Debug, Args)]
pub struct ExceptionsArgs {
    /// The exceptions register (`kind: Exceptions`)
    file: PathBuf,
    /// The window, in days, for exceptions about to expire
    #[arg(long, default_value_t = 14, value_name = "DAYS")]
    within: u32,
}

#[derive(Debug, Args)]
pub struct LintArgs {
    /// The policy (`kind: Policy`) or exceptions register (`kind: Exceptions`), YAML or JSON
    file: PathBuf,
    /// The organisation policy: a team policy is checked to be only stricter, and
    /// exceptions against `maxExceptionDays` and its stages
    #[arg(long)]
    org: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct TestArgs {
    /// A directory searched recursively for `*.test.yaml` cases
    dir: PathBuf,
}

pub fn run(command: PolicyCommand) -> anyhow::Result<ExitCode> {
    match command {
        PolicyCommand::Lint(args) => lint(&args),
        PolicyCommand::Test(args) => test(&args),
        PolicyCommand::Exceptions(args) => exceptions(&args),
    }
}

fn exceptions(args: &ExceptionsArgs) -> anyhow::Result<ExitCode> {
    let register = portcullis_policy::Exceptions::from_path(&args.file)?;
    let now = time::OffsetDateTime::now_utc();
    let listed = register.expiring(now, args.within);
    let mut out = std::io::stdout().lock();
    let line = |state: &str, e: &portcullis_policy::Exception| {
        format!(
            "{state:<8} {} expires {} (owner {}, approved by {}) {}:{}",
            e.advisory,
            e.expires.instant(),
            e.owner,
            e.approved_by,
            register.source,
            e.position.line
        )
    };
    for e in &listed.expired {
        writeln!(out, "{}", line("expired", e))?;
    }
    for e in &listed.soon {
        writeln!(out, "{}", line("expiring", e))?;
    }
    let n = listed.expired.len() + listed.soon.len();
    crate::output::note(&format!(
        "{} expired, {} expiring within {} days, of {} exceptions",
        listed.expired.len(),
        listed.soon.len(),
        args.within,
        register.entries.len()
    ));
    Ok(if n == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn lint(args: &LintArgs) -> anyhow::Result<ExitCode> {
    let name = args.file.display().to_string();
    let text = std::fs::read_to_string(&args.file)
        .with_context(|| format!("failed to read `{name}`: check the path"))?;
    let org = match &args.org {
        Some(path) => Some(parse::from_path(path).context("the --org policy is not valid")?),
        None => None,
    };
    let errors = portcullis_policy::lint::lint(&text, &name, org.as_ref());
    let mut stderr = anstream::stderr().lock();
    if errors.is_empty() {
        let _ = writeln!(stderr, "{name}: ok");
        return Ok(ExitCode::SUCCESS);
    }
    for error in &errors {
        let _ = writeln!(stderr, "error: {error}");
    }
    Ok(ExitCode::from(2))
}

fn test(args: &TestArgs) -> anyhow::Result<ExitCode> {
    let cases = portcullis_policy::case_files(&args.dir)
        .with_context(|| format!("failed to list the cases in `{}`", args.dir.display()))?;
    if cases.is_empty() {
        anyhow::bail!(
            "no `*.test.yaml` case under `{}`: write one (see crates/policy/POLICY.md)",
            args.dir.display()
        );
    }
    let mut stdout = std::io::stdout().lock();
    let (mut passed, mut failed) = (0usize, 0usize);
    for case in &cases {
        match portcullis_policy::run_case(case) {
            Ok(result) if result.passed() => {
                passed += 1;
                writeln!(stdout, "pass  {}  {}", result.file, result.name)?;
            }
            Ok(result) => {
                failed += 1;
                writeln!(stdout, "FAIL  {}  {}", result.file, result.name)?;
                let mut want = result.expected_codes.clone();
                want.sort();
                want.dedup();
                writeln!(
                    stdout,
                    "      expected {} [{}], got {} [{}]",
                    result.expected_outcome.as_str(),
                    want.join(", "),
                    result.decision.outcome.as_str(),
                    result.decision.codes().join(", ")
                )?;
                for d in &result.decision.diagnostics {
                    writeln!(
                        stdout,
                        "      {} {} ({}): {}",
                        d.action.as_str(),
                        d.code,
                        d.rule,
                        d.message
                    )?;
                }
            }
            Err(error) => {
                failed += 1;
                writeln!(stdout, "FAIL  {}  could not run: {error}", case.display())?;
                let mut source = std::error::Error::source(&error);
                while let Some(cause) = source {
                    writeln!(stdout, "      caused by: {cause}")?;
                    source = cause.source();
                }
            }
        }
    }
    writeln!(stdout, "{passed} passed, {failed} failed")?;
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
