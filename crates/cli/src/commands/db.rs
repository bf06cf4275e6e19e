//! `portcullis db`: update, status, search, export and import of the advisory database.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use clap::{Args, Subcommand, ValueEnum};
use portcullis_types::AdvisorySource;
use portcullis_vulndb::fetch::{FetchOptions, FetchOutcome, FetchProgress};
use portcullis_vulndb::source::ReadLimits;
use portcullis_vulndb::{Home, SourceInfo, SourceSpec, UpdateOptions, UpdateProgress};

use crate::output;

#[derive(Debug, Args)]
pub struct DbArgs {
    /// The data directory [default: the user's data directory + /portcullis]
    #[arg(
        long,
        env = "PORTCULLIS_HOME",
        hide_env_values = true,
        global = true,
        value_name = "DIR"
    )]
    home: Option<PathBuf>,
    #[command(subcommand)]
    command: DbCommand,
}

#[derive(Debug, Subcommand)]
enum DbCommand {
    /// Download the advisory feeds and build a new index (the old one stays in use until the new one is complete)
    Update(UpdateArgs),
    /// Show each source's age and counts, and warn when data is old
    Status(StatusArgs),
    /// Find advisories by ID (any alias) or by package
    Search(SearchArgs),
    /// Write the index to one compressed, checksummed bundle for air-gapped sites
    Export(ExportArgs),
    /// Verify a bundle made by `db export` and install its index
    Import(ImportArgs),
}

#[derive(Debug, Args)]
struct UpdateArgs {
    /// Take feeds from this directory, archive (.zip, .tar.gz) or file, or mirror URL, instead of
    /// the upstream locations; repeatable. Each file's format is recognised by its content.
    #[arg(long = "source", value_name = "PATH_OR_URL")]
    sources: Vec<String>,
    /// Rebuild the index even if no feed changed
    #[arg(long)]
    force: bool,
    /// Parsing threads [default: the number of CPUs]
    #[arg(long, value_name = "N")]
    threads: Option<usize>,
    /// Network timeout per request, in seconds
    #[arg(long, default_value_t = 60, value_name = "SECS")]
    timeout: u64,
    /// Retries of a failed or interrupted download
    #[arg(long, default_value_t = 3, value_name = "N")]
    retries: u32,
    /// Largest size of one feed file once decompressed, in bytes
    #[arg(long, default_value_t = 2 << 30, value_name = "BYTES")]
    max_feed_bytes: u64,
    /// Print only errors
    #[arg(short, long)]
    quiet: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Table,
    Json,
}

#[derive(Debug, Args)]
struct StatusArgs {
    /// Warn about sources whose data is older than this many days
    #[arg(long, default_value_t = 7, value_name = "DAYS")]
    max_age: u64,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

#[derive(Debug, Args)]
struct SearchArgs {
    /// An advisory ID or alias (CVE-…, GHSA-…, PYSEC-…, DSA-…)
    #[arg(required_unless_present = "package", conflicts_with = "package")]
    id: Option<String>,
    /// A package name, in every ecosystem (or only --ecosystem)
    #[arg(long, value_name = "NAME")]
    package: Option<String>,
    /// An OSV ecosystem: PyPI, npm, Go, crates.io, Debian:12, Alpine:v3.20, AlmaLinux:9…
    #[arg(long, requires = "package", value_name = "ECOSYSTEM")]
    ecosystem: Option<String>,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

#[derive(Debug, Args)]
struct ExportArgs {
    /// The bundle to write (conventionally *.tar.zst)
    file: PathBuf,
    /// zstd compression level, 1 (fast) to 19 (small)
    #[arg(long, default_value_t = 12, value_parser = clap::value_parser!(i32).range(1..=19))]
    level: i32,
}

#[derive(Debug, Args)]
struct ImportArgs {
    /// A bundle written by `portcullis db export`
    file: PathBuf,
}

/// The data directory: `--home`, `PORTCULLIS_HOME`, or the platform's user data directory.
pub fn home(explicit: Option<PathBuf>) -> anyhow::Result<Home> {
    if let Some(path) = explicit {
        return Ok(Home::new(path));
    }
    let base = dirs::data_dir().context(
        "cannot tell the user's data directory (no HOME); set PORTCULLIS_HOME to a directory",
    )?;
    Ok(Home::new(base.join("portcullis")))
}

pub fn run(args: DbArgs) -> anyhow::Result<std::process::ExitCode> {
    let home = home(args.home)?;
    match args.command {
        DbCommand::Update(a) => update(&home, a),
        DbCommand::Status(a) => status(&home, a),
        DbCommand::Search(a) => search(&home, a),
        DbCommand::Export(a) => export(&home, a),
        DbCommand::Import(a) => import(&home, a),
    }
}

/// Reports on stderr, one line per step; a byte counter only on a terminal.
struct Lines {
    quiet: bool,
    bar: Option<indicatif::ProgressBar>,
}

impl Lines {
    fn say(&self, line: &str) {
        if self.quiet {
            return;
        }
        match &self.bar {
            Some(bar) => bar.println(line),
            None => output::note(line),
        }
    }
}

impl FetchProgress for Lines {
    fn started(&self, url: &str, total: Option<u64>) {
        if let Some(bar) = &self.bar {
            bar.reset();
            bar.set_length(total.unwrap_or(0));
            bar.set_message(portcullis_vulndb::update::redact(url));
        }
    }

    fn advanced(&self, bytes: u64) {
        if let Some(bar) = &self.bar {
            bar.inc(bytes);
        }
    }

    fn retrying(&self, url: &str, attempt: u32, reason: &str) {
        self.say(&format!(
            "  retrying {} (attempt {attempt}): {reason}",
            portcullis_vulndb::update::redact(url)
        ));
    }
}

impl UpdateProgress for Lines {
    fn fetched(&self, source: &str, url: &str, outcome: &FetchOutcome) {
        let url = portcullis_vulndb::update::redact(url);
        let what = match outcome {
            FetchOutcome::NotModified { .. } => "not modified".to_owned(),
            FetchOutcome::Downloaded { bytes, resumed, .. } => format!(
                "downloaded {}{}",
                human_bytes(*bytes),
                if *resumed { " (resumed)" } else { "" }
            ),
        };
        self.say(&format!("{source}: {url}: {what}"));
    }

    fn reading(&self, source: &str) {
        if let Some(bar) = &self.bar {
            bar.set_message(format!("reading {source}"));
        }
    }

    fn read(&self, info: &SourceInfo) {
        self.say(&source_line(info));
    }

    fn building(&self) {
        if let Some(bar) = &self.bar {
            bar.set_message("writing the index");
        }
    }
}

fn source_line(info: &SourceInfo) -> String {
    let records: Vec<String> = info
        .records
        .iter()
        .map(|(unit, n)| format!("{} {unit}", group(*n)))
        .collect();
    let mut line = format!(
        "{}: {} → {} advisories, {} affected packages",
        info.name,
        if records.is_empty() {
            "no records".to_owned()
        } else {
            records.join(", ")
        },
        group(info.advisories),
        group(info.affected),
    );
    if info.epss > 0 {
        line.push_str(&format!(", {} EPSS scores", group(info.epss)));
    }
    if info.kev > 0 {
        line.push_str(&format!(", {} KEV entries", group(info.kev)));
    }
    line.push_str(&format!("; {} skipped", group(info.skipped)));
    if let Some(s) = &info.snapshot {
        line.push_str(&format!(" (data as of {})", &s[..s.len().min(10)]));
    }
    line
}

/// `12345` → `12,345`.
fn group(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn human_bytes(n: u64) -> String {
    if n >= 1 << 20 {
        format!("{:.1} MiB", n as f64 / f64::from(1 << 20))
    } else if n >= 1 << 10 {
        format!("{:.1} KiB", n as f64 / 1024.0)
    } else {
        format!("{n} B")
    }
}

fn update(home: &Home, args: UpdateArgs) -> anyhow::Result<std::process::ExitCode> {
    let started = Instant::now();
    let specs = if args.sources.is_empty() {
        let file = home.root().join("sources.toml");
        if file.exists() {
            portcullis_vulndb::update::read_sources_file(&file)?
        } else {
            // The NVD yearly feeds run up to the current year.
            portcullis_vulndb::defaults::default_sources(time::OffsetDateTime::now_utc().year())
        }
    } else {
        let mut specs: Vec<SourceSpec> = Vec::new();
        for location in &args.sources {
            if !location.starts_with("http://")
                && !location.starts_with("https://")
                && !std::path::Path::new(location).exists()
            {
                bail!(
                    "--source {location}: no such file or directory (give a path or an http(s) URL)"
                );
            }
            let mut spec = SourceSpec::from_location(location);
            // Two sources with the same file name (a/pypa.tar.gz, b/pypa.tar.gz) get distinct names.
            let base = spec.name.clone();
            let mut n = 2;
            while specs.iter().any(|s| s.name == spec.name) {
                spec.name = format!("{base}-{n}");
                n += 1;
            }
            specs.push(spec);
        }
        specs
    };
    let mut options = UpdateOptions {
        limits: ReadLimits {
            max_file_bytes: args.max_feed_bytes,
            ..ReadLimits::default()
        },
        fetch: FetchOptions {
            timeout: Duration::from_secs(args.timeout),
            retries: args.retries,
            ..FetchOptions::default()
        },
        force: args.force,
        ..UpdateOptions::default()
    };
    if let Some(t) = args.threads {
        options.threads = t.max(1);
    }
    let bar = (!args.quiet && std::io::stderr().is_terminal()).then(|| {
        let bar = indicatif::ProgressBar::new(0);
        if let Ok(style) = indicatif::ProgressStyle::with_template(
            "{spinner} {msg} {bytes}/{total_bytes} {bytes_per_sec}",
        ) {
            bar.set_style(style);
        }
        bar
    });
    let lines = Lines {
        quiet: args.quiet,
        bar,
    };
    let result = portcullis_vulndb::update(home, &specs, &options, &lines);
    if let Some(bar) = &lines.bar {
        bar.finish_and_clear();
    }
    let report = match result {
        Err(e @ portcullis_vulndb::DbError::Fetch(_)) if args.sources.is_empty() => {
            return Err(anyhow::Error::new(e).context(
                "could not download the advisory feeds; without network access, give a mirror or local copy with `--source`, or install a bundle with `portcullis db import FILE`",
            ));
        }
        other => other?,
    };
    if report.up_to_date {
        lines.say(&format!(
            "advisory database is up to date (no feed changed since {}); nothing rebuilt",
            report.manifest.built_at
        ));
        return Ok(std::process::ExitCode::SUCCESS);
    }
    const SHOWN: usize = 20;
    for warning in report.warnings.iter().take(SHOWN) {
        lines.say(&format!("warning: skipped {warning}"));
    }
    if report.warnings.len() > SHOWN {
        lines.say(&format!(
            "… and {} more skipped records, all listed in {}",
            report.warnings.len() - SHOWN,
            home.warnings_path().display()
        ));
    }
    let size = std::fs::metadata(home.index_path())
        .map(|m| m.len())
        .unwrap_or(0);
    lines.say(&format!(
        "index: {} advisories, {} affected packages under {} package names, {} CVEs with EPSS or KEV data; {} skipped; {} at {} (built in {:.1} s)",
        group(report.manifest.advisories),
        group(report.manifest.affected),
        group(report.manifest.package_keys),
        group(report.manifest.cves_with_scores),
        group(report.warnings.len() as u64),
        human_bytes(size),
        home.index_path().display(),
        started.elapsed().as_secs_f64()
    ));
    Ok(std::process::ExitCode::SUCCESS)
}

/// Whole days from an RFC 3339 time (or the date it starts with) to now.
fn age_days(rfc3339: &str) -> Option<u64> {
    let day = time::macros::format_description!("[year]-[month]-[day]");
    let date = time::Date::parse(rfc3339.get(..10)?, day).ok()?;
    let today = time::OffsetDateTime::now_utc().date();
    u64::try_from((today - date).whole_days()).ok()
}

fn status(home: &Home, args: StatusArgs) -> anyhow::Result<std::process::ExitCode> {
    let index = home.open_index()?;
    let manifest = index.manifest().clone();
    let size = std::fs::metadata(home.index_path())
        .map(|m| m.len())
        .unwrap_or(0);
    let mut stale = Vec::new();
    for s in &manifest.sources {
        let dated = s.snapshot.as_deref().unwrap_or(&s.fetched_at);
        let fetched_age = age_days(&s.fetched_at).unwrap_or(0);
        let data_age = age_days(dated).unwrap_or(0);
        if fetched_age > args.max_age || data_age > args.max_age {
            stale.push((s.name.clone(), fetched_age, data_age, dated.to_owned()));
        }
    }
    match args.format {
        Format::Json => {
            let json = serde_json::json!({
                "path": home.index_path().display().to_string(),
                "bytes": size,
                "manifest": manifest,
                "stale": stale.iter().map(|(name, fetched, data, _)| serde_json::json!({
                    "source": name, "fetched_days_ago": fetched, "data_days_old": data,
                })).collect::<Vec<_>>(),
            });
            let mut text = serde_json::to_vec_pretty(&json)?;
            text.push(b'\n');
            output::write_data(None, &text)?;
        }
        Format::Table => {
            let mut table = comfy_table::Table::new();
            table
                .load_preset(comfy_table::presets::NOTHING)
                .set_header([
                    "SOURCE",
                    "FORMATS",
                    "DATA AS OF",
                    "FETCHED",
                    "ADVISORIES",
                    "PACKAGES",
                    "EPSS",
                    "KEV",
                    "SKIPPED",
                ]);
            for s in &manifest.sources {
                table.add_row([
                    s.name.clone(),
                    s.formats.keys().cloned().collect::<Vec<_>>().join(","),
                    s.snapshot
                        .as_deref()
                        .map_or("-".into(), |d| d[..d.len().min(10)].to_owned()),
                    format!(
                        "{} ({} days ago)",
                        &s.fetched_at[..s.fetched_at.len().min(10)],
                        age_days(&s.fetched_at).unwrap_or(0)
                    ),
                    group(s.advisories),
                    group(s.affected),
                    group(s.epss),
                    group(s.kev),
                    group(s.skipped),
                ]);
            }
            let mut out = std::io::stdout().lock();
            writeln!(out, "{table}")?;
            writeln!(
                out,
                "index {} ({}), schema {}, built {} by {}: {} advisories, {} package names",
                home.index_path().display(),
                human_bytes(size),
                manifest.schema_version,
                manifest.built_at,
                manifest.built_by,
                group(manifest.advisories),
                group(manifest.package_keys)
            )?;
        }
    }
    for (name, fetched, data, dated) in &stale {
        output::note(&format!(
            "warning: source {name} is old: data as of {} ({data} days), fetched {fetched} days ago; run `portcullis db update` (or import a fresh bundle)",
            &dated[..dated.len().min(10)]
        ));
    }
    Ok(std::process::ExitCode::SUCCESS)
}

fn search(home: &Home, args: SearchArgs) -> anyhow::Result<std::process::ExitCode> {
    let index = home.open_index()?;
    let mut out = std::io::stdout().lock();
    if let Some(id) = args.id {
        let records = index.by_alias(&id)?;
        if records.is_empty() {
            output::note(&format!("no advisory has the ID or alias {id}"));
            return Ok(std::process::ExitCode::from(1));
        }
        match args.format {
            Format::Json => {
                serde_json::to_writer_pretty(&mut out, &records)?;
                writeln!(out)?;
            }
            Format::Table => {
                for a in &records {
                    writeln!(out, "{} ({})", a.id, a.source)?;
                    if !a.aliases.is_empty() {
                        writeln!(out, "  aliases: {}", a.aliases.join(", "))?;
                    }
                    if let Some(s) = &a.summary {
                        writeln!(out, "  {}", s.lines().next().unwrap_or_default())?;
                    }
                    if let Some(w) = &a.withdrawn {
                        writeln!(out, "  withdrawn {w}")?;
                    }
                    for s in &a.severities {
                        writeln!(
                            out,
                            "  severity {} ({}, {:?}){}{}",
                            s.level,
                            s.source,
                            s.kind,
                            s.score.map_or(String::new(), |v| format!(" {v:.1}")),
                            s.vector
                                .as_deref()
                                .map_or(String::new(), |v| format!(" {v}"))
                        )?;
                    }
                    for af in &a.affected {
                        writeln!(out, "  {}", affected_line(af))?;
                    }
                }
                if let Some(cve) = records.iter().find_map(|a| a.cve().map(str::to_owned))
                    && let Some(info) = index.cve_info(&cve)?
                {
                    if let Some(e) = info.epss {
                        writeln!(
                            out,
                            "{cve}: EPSS {:.5} (percentile {:.5})",
                            e.score, e.percentile
                        )?;
                    }
                    if let Some(k) = info.kev {
                        writeln!(out, "{cve}: in CISA KEV since {}", k.date_added)?;
                    }
                }
            }
        }
        return Ok(std::process::ExitCode::SUCCESS);
    }
    let package = args.package.unwrap_or_default();
    let keys = match &args.ecosystem {
        Some(eco) => vec![(eco.clone(), package.clone())],
        None => index.find_package(&package)?,
    };
    let mut found = Vec::new();
    for (ecosystem, name) in keys {
        found.extend(index.affected(&ecosystem, &name)?);
    }
    if found.is_empty() {
        output::note(&format!("no advisory affects a package named {package}"));
        return Ok(std::process::ExitCode::from(1));
    }
    match args.format {
        Format::Json => {
            let json: Vec<_> = found
                .iter()
                .map(|m| {
                    serde_json::json!({"advisory": m.advisory_id, "source": m.source, "affected": m.affected})
                })
                .collect();
            serde_json::to_writer_pretty(&mut out, &json)?;
            writeln!(out)?;
        }
        Format::Table => {
            for m in &found {
                writeln!(
                    out,
                    "{} ({}) {}",
                    m.advisory_id,
                    m.source,
                    affected_line(&m.affected)
                )?;
            }
        }
    }
    Ok(std::process::ExitCode::SUCCESS)
}

fn affected_line(a: &portcullis_types::Affected) -> String {
    let mut line = format!("{} {} [{}]", a.ecosystem, a.package, a.status.as_str());
    let fixed = a.fixed_versions();
    if !fixed.is_empty() {
        line.push_str(&format!(" fixed in {}", fixed.join(", ")));
    }
    if let Some(n) = &a.native {
        if let Some(v) = &n.vulnerable {
            line.push_str(&format!(" vulnerable {v}"));
        }
        if !n.unaffected.is_empty() {
            line.push_str(&format!(" unaffected {}", n.unaffected.join(" | ")));
        }
    }
    if !a.versions.is_empty() {
        line.push_str(&format!(" ({} versions listed)", a.versions.len()));
    }
    if let Some(s) = a.severity {
        line.push_str(&format!(" urgency {s}"));
    }
    if let Some(n) = &a.note {
        line.push_str(&format!(" — {n}"));
    }
    line
}

fn export(home: &Home, args: ExportArgs) -> anyhow::Result<std::process::ExitCode> {
    let manifest = portcullis_vulndb::bundle::export(home, &args.file, args.level)?;
    let size = std::fs::metadata(&args.file).map(|m| m.len()).unwrap_or(0);
    output::note(&format!(
        "wrote {}: {} ({} advisories from {} sources; index {}, SHA-256 {})",
        args.file.display(),
        human_bytes(size),
        group(manifest.index.advisories),
        manifest.index.sources.len(),
        human_bytes(manifest.index_bytes),
        manifest.index_sha256
    ));
    Ok(std::process::ExitCode::SUCCESS)
}

fn import(home: &Home, args: ImportArgs) -> anyhow::Result<std::process::ExitCode> {
    let manifest = portcullis_vulndb::bundle::import(home, &args.file)?;
    output::note(&format!(
        "imported {} (built {}): {} advisories from {} sources, index SHA-256 verified; now in use at {}",
        args.file.display(),
        manifest.index.built_at,
        group(manifest.index.advisories),
        manifest.index.sources.len(),
        home.index_path().display()
    ));
    Ok(std::process::ExitCode::SUCCESS)
}
