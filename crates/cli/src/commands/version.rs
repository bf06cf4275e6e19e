//! `portcullis version compare|satisfies`: check a version judgement quickly.

use std::io::{BufRead as _, Write as _};
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use clap::{Args, Subcommand};
use portcullis_version::Scheme;

#[derive(Debug, Subcommand)]
pub enum VersionCommand {
    /// Compare two versions: prints `<`, `=` or `>`
    ///
    /// With --stdin, reads lines `A<TAB>B` and prints one line per input line: -1, 0 or 1,
    /// or `error: REASON` when a version is invalid.
    Compare(CompareArgs),
    /// Check whether a version is inside a range, in the scheme's native range syntax:
    /// prints `true` or `false` (exit 0 or 1)
    ///
    /// With --stdin, reads lines `VERSION<TAB>RANGE` and prints `true`, `false` or
    /// `error: REASON` per line.
    Satisfies(SatisfiesArgs),
}

#[derive(Debug, Args)]
pub struct CompareArgs {
    /// deb, rpm, apk, pep440, npm, cargo, go, maven, gem or nuget
    #[arg(long, short = 's')]
    scheme: String,
    /// Read `A<TAB>B` lines from stdin instead of taking A and B as arguments
    #[arg(long, conflicts_with_all = ["a", "b"])]
    stdin: bool,
    #[arg(required_unless_present = "stdin")]
    a: Option<String>,
    #[arg(required_unless_present = "stdin")]
    b: Option<String>,
}

#[derive(Debug, Args)]
pub struct SatisfiesArgs {
    /// deb, rpm, apk, pep440, npm, cargo, go, maven, gem or nuget
    #[arg(long, short = 's')]
    scheme: String,
    /// Read `VERSION<TAB>RANGE` lines from stdin
    #[arg(long, conflicts_with_all = ["installed", "range"])]
    stdin: bool,
    /// The version to check
    #[arg(
        id = "installed",
        value_name = "VERSION",
        required_unless_present = "stdin"
    )]
    version: Option<String>,
    /// For example `>=1.2.0 <2` (npm), `>=2.0,<2.2` (pep440), `~> 5.2` (gem), `[1.0,2.0)` (maven),
    /// `>= 1:2.3-1, < 1:2.4` (deb, rpm, apk)
    #[arg(required_unless_present = "stdin", allow_hyphen_values = true)]
    range: Option<String>,
}

pub fn run(command: VersionCommand) -> anyhow::Result<ExitCode> {
    match command {
        VersionCommand::Compare(args) => compare(args),
        VersionCommand::Satisfies(args) => satisfies(args),
    }
}

fn scheme(name: &str) -> anyhow::Result<Scheme> {
    name.parse::<Scheme>().map_err(|_| {
        let all: Vec<String> = Scheme::all().iter().map(ToString::to_string).collect();
        anyhow::anyhow!("unknown scheme `{name}`; use one of: {}", all.join(", "))
    })
}

fn compare(args: CompareArgs) -> anyhow::Result<ExitCode> {
    let scheme = scheme(&args.scheme)?;
    if args.stdin {
        return each_line(|line| portcullis_version::compare_line(scheme, line));
    }
    let (Some(a), Some(b)) = (args.a, args.b) else {
        bail!("give two versions, or --stdin");
    };
    let ordering = portcullis_version::compare(scheme, &a, &b)?;
    let sign = match ordering {
        std::cmp::Ordering::Less => "<",
        std::cmp::Ordering::Equal => "=",
        std::cmp::Ordering::Greater => ">",
    };
    crate::output::write_data(None, format!("{sign}\n").as_bytes())?;
    Ok(ExitCode::SUCCESS)
}

fn satisfies(args: SatisfiesArgs) -> anyhow::Result<ExitCode> {
    let scheme = scheme(&args.scheme)?;
    if args.stdin {
        return each_line(|line| match line.split_once('\t') {
            None => "error: expected VERSION<TAB>RANGE".to_owned(),
            Some((version, range)) => match portcullis_version::satisfies(scheme, version, range) {
                Ok(true) => "true".to_owned(),
                Ok(false) => "false".to_owned(),
                Err(e) => format!("error: {}", e.to_string().replace('\n', " ")),
            },
        });
    }
    let (Some(version), Some(range)) = (args.version, args.range) else {
        bail!("give a version and a range, or --stdin");
    };
    let inside = portcullis_version::satisfies(scheme, &version, &range)?;
    crate::output::write_data(None, if inside { b"true\n" } else { b"false\n" })?;
    Ok(if inside {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Answers stdin line by line, flushing per line so that another program can converse.
fn each_line(mut answer: impl FnMut(&str) -> String) -> anyhow::Result<ExitCode> {
    let stdin = std::io::stdin().lock();
    let mut stdout = std::io::BufWriter::new(std::io::stdout().lock());
    for line in stdin.lines() {
        let line = line.context("failed to read stdin")?;
        let line = line.strip_suffix('\r').unwrap_or(&line);
        writeln!(stdout, "{}", answer(line)).context("failed to write to stdout")?;
    }
    stdout.flush().context("failed to write to stdout")?;
    Ok(ExitCode::SUCCESS)
}
