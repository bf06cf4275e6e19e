//! `portcullis scan IMAGE`: match an image's packages against the advisory database.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Args, ValueEnum};
use portcullis_report::{Format as ReportFormat, ScanReport};
use portcullis_types::{AffectedStatus, SeverityLevel};

use crate::commands::image::{ImageArgs, read_sbom};
use crate::output;

/// Exit code when findings at or above `--fail-on` remain.
const EXIT_FINDINGS: u8 = 1;
/// Exit codes of a policy decision.
const EXIT_NUDGE: u8 = 3;
const EXIT_BLOCK: u8 = 4;

const EXIT_HELP: &str = "\
EXIT CODES:
  0  no finding at or above --fail-on (always 0 without --fail-on); with --policy: pass
  1  findings at or above --fail-on remain after the filters
  2  error (the message says what failed and what to do)
  3  with --policy: nudge (a human with the right role should approve)
  4  with --policy: block

ORDER: findings in CISA KEV first, then by severity, EPSS score, fixable before
unfixable, then package and ID.
";

#[derive(Debug, Args)]
#[command(after_help = EXIT_HELP, after_long_help = EXIT_HELP)]
pub struct ScanArgs {
    /// The image: oci:DIR[:TAG], docker-archive:FILE, docker://REF, REF or dir:PATH;
    /// or an SBOM file (CycloneDX or SPDX JSON, ours, Syft's or Trivy's): sbom:FILE
    image: String,

    /// Output format
    #[arg(long, short = 'f', value_enum, default_value_t = Format::Table)]
    format: Format,

    /// Write the output to FILE instead of stdout (written atomically)
    #[arg(long, short = 'o', value_name = "FILE")]
    output: Option<PathBuf>,

    /// Report only these severities (comma-separated: critical,high,medium,low,negligible,unknown)
    #[arg(long, value_delimiter = ',', value_parser = parse_severity, value_name = "LIST")]
    severity: Vec<SeverityLevel>,

    /// Leave out findings that have no fixed version
    #[arg(long, alias = "only-fixed")]
    ignore_unfixed: bool,

    /// Leave out findings with these vendor statuses (comma-separated:
    /// unfixed,will_not_fix,postponed,affected)
    #[arg(long, value_delimiter = ',', value_parser = parse_status, value_name = "LIST")]
    ignore_status: Vec<AffectedStatus>,

    /// The image this one was built FROM (any IMAGE syntax): its layers must be the
    /// bottom layers of IMAGE; findings then say whether the base or the application
    /// brought them in. Default: the image's org.opencontainers.image.base.* annotations
    #[arg(long, value_name = "IMAGE")]
    base: Option<String>,

    /// An ignore file (YAML, `version: 1`, `ignores:` with id, reason and expiry
    /// per entry): matching findings are suppressed and listed with the reason; an
    /// expired entry stops applying and is reported
    #[arg(long, value_name = "FILE")]
    ignore_file: Option<PathBuf>,

    /// A VEX document (OpenVEX 0.2 or CycloneDX VEX JSON), repeatable: `not_affected`
    /// and `fixed` statements suppress findings, others annotate them; both are shown
    #[arg(long, value_name = "FILE")]
    vex: Vec<PathBuf>,

    /// Exit with code 1 when a finding of this severity or higher remains
    #[arg(long, value_parser = parse_severity, value_name = "SEVERITY", conflicts_with = "policy")]
    fail_on: Option<SeverityLevel>,

    /// The organisation's policy (YAML or JSON, `kind: Policy`): decide pass, nudge or
    /// block for --stage; the exit code follows the decision
    #[arg(long, value_name = "FILE")]
    policy: Option<PathBuf>,

    /// A team policy to apply on top of the organisation's (it may only be stricter
    /// unless the organisation grants relaxation); needs --team
    #[arg(long, value_name = "FILE", requires = "team")]
    team_policy: Option<PathBuf>,

    /// The team that owns the image, for team policies and team-scoped exceptions
    #[arg(long, value_name = "NAME", requires = "policy")]
    team: Option<String>,

    /// The lifecycle stage to decide for (dev, test, prod, or a stage the policy defines)
    #[arg(
        long,
        value_name = "STAGE",
        default_value = "prod",
        requires = "policy"
    )]
    stage: String,

    /// The exceptions register (YAML, `kind: Exceptions`)
    #[arg(long, value_name = "FILE", requires = "policy")]
    exceptions: Option<PathBuf>,

    /// Print every diagnostic of the decision, with the rule that fired and what would
    /// make it pass
    #[arg(long, requires = "policy")]
    explain: bool,

    /// The data directory holding the advisory database
    #[arg(
        long,
        env = "PORTCULLIS_HOME",
        hide_env_values = true,
        value_name = "DIR"
    )]
    home: Option<PathBuf>,

    /// No progress bar, no warnings and no summary on stderr
    #[arg(long, short = 'q')]
    quiet: bool,

    /// Decode every layer even if it was seen before (decoded layers are
    /// cached under the data directory, keyed by diff_id and catalogers)
    #[arg(long)]
    no_cache: bool,

    #[command(flatten)]
    read: ImageArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    /// A table per target with a summary line, for people
    Table,
    /// portcullis' own JSON report (schema `portcullis-scan/1`)
    Json,
    /// SARIF 2.1.0, for GitHub code scanning
    Sarif,
    /// JUnit XML, one test suite per target, for Jenkins and other CI
    Junit,
    /// The GitLab container-scanning report
    Gitlab,
    /// CycloneDX 1.6 JSON with the vulnerabilities
    Cyclonedx,
    /// One self-contained HTML page, filterable, for people
    Html,
}

fn parse_severity(s: &str) -> Result<SeverityLevel, String> {
    SeverityLevel::ALL
        .into_iter()
        .find(|l| l.as_str().eq_ignore_ascii_case(s.trim()))
        .ok_or_else(|| {
            format!(
                "`{s}` is not a severity; use critical, high, medium, low, negligible or unknown"
            )
        })
}

fn parse_status(s: &str) -> Result<AffectedStatus, String> {
    [
        AffectedStatus::Affected,
        AffectedStatus::Unfixed,
        AffectedStatus::WillNotFix,
        AffectedStatus::Postponed,
    ]
    .into_iter()
    .find(|st| {
        st.as_str()
            .eq_ignore_ascii_case(&s.trim().replace('-', "_"))
    })
    .ok_or_else(|| {
        format!("`{s}` is not a status; use unfixed, will_not_fix, postponed or affected")
    })
}

pub fn run(args: ScanArgs) -> anyhow::Result<ExitCode> {
    let home = crate::commands::db::home(args.home.clone())?;
    let policies = args
        .policy
        .as_deref()
        .map(|org| crate::commands::decide::load(org, args.team_policy.as_deref()))
        .transpose()?;
    let exceptions = args
        .exceptions
        .as_deref()
        .map(portcullis_policy::Exceptions::from_path)
        .transpose()?;
    // Read the documents first: a typo there should not cost a whole scan.
    let ignore = args
        .ignore_file
        .as_deref()
        .map(portcullis_policy::IgnoreFile::from_path)
        .transpose()?;
    let vex = args
        .vex
        .iter()
        .map(|p| portcullis_policy::VexDocument::from_path(p))
        .collect::<Result<Vec<_>, _>>()?;
    // Open the database first: no point reading a large image without it.
    let index = home.open_index()?;
    let cache: Option<std::sync::Arc<dyn portcullis_image::LayerCache>> =
        (!args.no_cache).then(|| {
            std::sync::Arc::new(portcullis_image::DirLayerCache::new(
                home.root().join("cache/layers"),
            )) as _
        });
    let (sbom, mut warnings) = match sbom_file(&args.image) {
        Some(path) => {
            let bytes = std::fs::read(&path)
                .with_context(|| format!("failed to read `{}`", path.display()))?;
            let read = portcullis_sbom::read_sbom_file(&bytes, &path.display().to_string())?;
            let mut sbom = read.sbom;
            sbom.sort();
            (sbom, read.warnings)
        }
        None => read_sbom(&args.image, &args.read, args.quiet, cache)?,
    };
    // Which layers the base image brought: `--base`, else the image's annotations.
    let options = crate::commands::image::read_options(&args.read, None)?;
    let base = match &args.base {
        // An SBOM from another tool names no layers to compare.
        _ if sbom.image.layers.is_empty() => None,
        Some(base) => Some(
            portcullis_scan::base::explicit(&sbom.image, base, &options)
                .with_context(|| format!("--base `{base}`"))?,
        ),
        None => match portcullis_scan::base::annotated(&sbom.image, &options) {
            Ok(base) => base,
            Err(e) => {
                warnings.push(format!(
                    "layer roles unknown: {:#}; give the base image with --base IMAGE",
                    anyhow::Error::from(e)
                ));
                None
            }
        },
    };
    let inputs = portcullis_scan::ScanInputs {
        base: base.as_ref(),
        ignore: ignore.as_ref(),
        vex: &vex,
        filter: portcullis_scan::FindingFilter {
            severities: args.severity.clone(),
            ignore_unfixed: args.ignore_unfixed,
            ignore_status: args.ignore_status.clone(),
        },
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let report = portcullis_scan::scan(sbom, warnings, &index, &inputs, now)?;
    let failing = args.fail_on.map_or(0, |level| {
        report
            .findings
            .iter()
            .filter(|f| f.severity >= level)
            .count()
    });
    let report = match &policies {
        Some(policies) => {
            let decision = crate::commands::decide::decide(
                policies,
                &report,
                &args.stage,
                args.team.as_deref(),
                exceptions.as_ref(),
            )?;
            ScanReport {
                decision: Some(decision),
                ..report
            }
        }
        None => report,
    };
    let format = match args.format {
        Format::Table => ReportFormat::Table,
        Format::Json => ReportFormat::Json,
        Format::Sarif => ReportFormat::Sarif,
        Format::Junit => ReportFormat::Junit,
        Format::Gitlab => ReportFormat::Gitlab,
        Format::Cyclonedx => ReportFormat::Cyclonedx,
        Format::Html => ReportFormat::Html,
    };
    let data = portcullis_report::write(&report, format)?;
    output::write_data(args.output.as_deref(), &data)?;
    if !args.quiet {
        for warning in &report.warnings {
            output::note(&format!("warning: {warning}"));
        }
        if args.format != Format::Table || args.output.is_some() {
            let s = &report.summary;
            output::note(&format!(
                "{} findings in {} of {} packages ({} fixable, {} known exploited)",
                s.findings, s.vulnerable_packages, s.packages, s.fixable, s.known_exploited
            ));
        }
        if let Some(level) = args.fail_on
            && failing > 0
        {
            output::note(&format!(
                "{failing} findings at or above {level}: failing (exit code {EXIT_FINDINGS})"
            ));
        }
    }
    if let Some(decision) = &report.decision {
        if !args.quiet || args.explain {
            crate::commands::decide::print(decision, args.explain);
        }
        return Ok(match decision.decision.outcome {
            portcullis_policy::Outcome::Pass => ExitCode::SUCCESS,
            portcullis_policy::Outcome::Nudge => ExitCode::from(EXIT_NUDGE),
            portcullis_policy::Outcome::Block => ExitCode::from(EXIT_BLOCK),
        });
    }
    Ok(if failing > 0 {
        ExitCode::from(EXIT_FINDINGS)
    } else {
        ExitCode::SUCCESS
    })
}

/// The SBOM file IMAGE names: `sbom:FILE`, or an existing file whose content
/// is JSON (CycloneDX, SPDX or portcullis' own); `None` for image sources.
fn sbom_file(image: &str) -> Option<PathBuf> {
    if let Some(path) = image.strip_prefix("sbom:") {
        return Some(PathBuf::from(path));
    }
    let path = std::path::Path::new(image);
    if !path.is_file() {
        return None;
    }
    let mut head = [0u8; 64];
    let n = std::fs::File::open(path)
        .and_then(|mut f| std::io::Read::read(&mut f, &mut head))
        .ok()?;
    head[..n]
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|b| *b == b'{')
        .then(|| path.to_path_buf())
}
