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
    }
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
