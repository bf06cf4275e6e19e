//! Feed formats: recognising a file's format by its content, and parsing it
//! into the normalised model.
//!
//! Each format has its own module with a `parse` function that appends what it
//! finds to a [`Parsed`]. A malformed record becomes a [`Warning`] naming the
//! source, the file and the reason; the rest of the file is still read.

mod alpine;
mod cvss;
mod debian;
mod epss;
mod kev;
mod nodejs;
mod nvd;
mod osv;
mod rubysec;
mod rustsec;

use std::collections::BTreeMap;
use std::fmt;

use portcullis_types::{Advisory, Epss, Kev};

pub use cvss::score_vector;

/// A format that portcullis reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FeedKind {
    /// One OSV record in JSON (a file of a directory, `all.zip` or tarball).
    OsvJson,
    /// One OSV record in YAML (the PyPA advisory database).
    OsvYaml,
    /// The Debian security tracker's JSON export.
    DebianTracker,
    /// The tracker's `data/DSA/list` or `data/DLA/list`.
    DebianList,
    /// Alpine secdb, JSON (today's feed).
    AlpineJson,
    /// Alpine secdb, YAML (the older repository copy).
    AlpineYaml,
    /// A RustSec advisory: TOML front matter in Markdown.
    RustSec,
    /// A ruby-advisory-db advisory (YAML, `gems/` or `rubies/`).
    RubySec,
    /// A Node.js security working group advisory (`vuln/npm/*.json`).
    NodejsNpm,
    /// A Node.js core advisory (`vuln/core/*.json`).
    NodejsCore,
    /// NVD CVE API 2.0 JSON (an API page or a `nvdcve-2.0-*.json` feed).
    Nvd,
    /// FIRST EPSS scores CSV.
    Epss,
    /// CISA KEV catalog, JSON.
    KevJson,
    /// CISA KEV catalog, CSV.
    KevCsv,
}

impl FeedKind {
    /// A short name for summaries.
    pub fn name(self) -> &'static str {
        match self {
            FeedKind::OsvJson => "osv-json",
            FeedKind::OsvYaml => "osv-yaml",
            FeedKind::DebianTracker => "debian-tracker-json",
            FeedKind::DebianList => "debian-dsa-dla-list",
            FeedKind::AlpineJson => "alpine-secdb-json",
            FeedKind::AlpineYaml => "alpine-secdb-yaml",
            FeedKind::RustSec => "rustsec",
            FeedKind::RubySec => "rubysec",
            FeedKind::NodejsNpm => "nodejs-npm",
            FeedKind::NodejsCore => "nodejs-core",
            FeedKind::Nvd => "nvd-2.0",
            FeedKind::Epss => "epss-csv",
            FeedKind::KevJson => "kev-json",
            FeedKind::KevCsv => "kev-csv",
        }
    }
}

impl fmt::Display for FeedKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A record that could not be ingested, and why.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Warning {
    /// The configured source (`pypa`, `alpine-secdb`…).
    pub source: String,
    /// The file inside the source (path in the directory or archive).
    pub file: String,
    /// The record inside the file, when there is one (`PYSEC-2021-1`, `musl 1.1.24-r2`).
    pub record: Option<String>,
    pub reason: String,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.source, self.file)?;
        if let Some(record) = &self.record {
            write!(f, ": {record}")?;
        }
        write!(f, ": {}", self.reason)
    }
}

/// What parsing yields; parsers append to it.
#[derive(Debug, Default)]
pub struct Parsed {
    /// Advisory records. Several records with the same source and ID (a CVE
    /// in several Alpine branches) are merged when the index is built.
    pub advisories: Vec<Advisory>,
    /// EPSS scores by CVE.
    pub epss: Vec<(String, Epss)>,
    /// KEV entries by CVE.
    pub kev: Vec<(String, Kev)>,
    /// Records read, by what the format calls a record (`OSV records`,
    /// `DSA`, `DLA`, `secfixes lines`, `EPSS scores`…), skipped ones included.
    pub records: BTreeMap<String, u64>,
    /// Records or parts of records that were skipped.
    pub warnings: Vec<Warning>,
    /// The newest date the data itself states (a record's `modified`, EPSS
    /// `score_date`, KEV `dateReleased`), RFC 3339.
    pub snapshot: Option<String>,
}

impl Parsed {
    /// Counts one record of `unit`.
    pub fn count(&mut self, unit: &str) {
        *self.records.entry(unit.to_owned()).or_default() += 1;
    }

    /// Takes in what another parse (another thread, another file) found.
    pub fn absorb(&mut self, other: Parsed) {
        self.advisories.extend(other.advisories);
        self.epss.extend(other.epss);
        self.kev.extend(other.kev);
        self.warnings.extend(other.warnings);
        for (unit, n) in other.records {
            *self.records.entry(unit).or_default() += n;
        }
        if let Some(date) = other.snapshot {
            self.saw_date(&date);
        }
    }

    /// Records a skipped record or part.
    pub fn warn(
        &mut self,
        source: &str,
        file: &str,
        record: Option<&str>,
        reason: impl Into<String>,
    ) {
        self.warnings.push(Warning {
            source: source.to_owned(),
            file: file.to_owned(),
            record: record.map(str::to_owned),
            reason: reason.into(),
        });
    }

    /// Keeps the newest of the dates seen; `date` is RFC 3339 or `YYYY-MM-DD`.
    /// Dates in the future (two PyPA records say 2027) are data errors and
    /// would make a stale source look fresh, so they are ignored.
    pub fn saw_date(&mut self, date: &str) {
        let date = normalize_date(date);
        let tomorrow = time::OffsetDateTime::now_utc() + time::Duration::days(1);
        let limit = tomorrow
            .format(time::macros::format_description!(
                "[year]-[month]-[day]T[hour]:[minute]:[second]Z"
            ))
            .unwrap_or_default();
        if let Some(date) = date
            && date <= limit
            && self.snapshot.as_deref().is_none_or(|s| s < date.as_str())
        {
            self.snapshot = Some(date);
        }
    }
}

/// A date or timestamp as RFC 3339 in UTC (`2023-03-29T00:00:00Z`), from the
/// spellings feeds use: RFC 3339 with or without fraction or offset,
/// `YYYY-MM-DD`, NVD's `2023-03-29T12:15:07.123` (no zone, UTC), and the DSA
/// list's `29 Mar 2023`. `None` for anything else.
pub fn normalize_date(text: &str) -> Option<String> {
    use time::format_description::well_known::Rfc3339;
    use time::macros::format_description;
    use time::{Date, OffsetDateTime, PrimitiveDateTime, UtcOffset};

    let text = text.trim();
    let out = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    if let Ok(t) = OffsetDateTime::parse(text, &Rfc3339) {
        return t.to_offset(UtcOffset::UTC).format(&out).ok();
    }
    let naive = format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second][optional [.[subsecond]]]"
    );
    if let Ok(t) = PrimitiveDateTime::parse(text, naive) {
        return t.assume_utc().format(&out).ok();
    }
    let day = format_description!("[year]-[month]-[day]");
    if let Ok(d) = Date::parse(text, day) {
        return d.midnight().assume_utc().format(&out).ok();
    }
    let dsa = format_description!("[day] [month repr:short] [year]");
    if let Ok(d) = Date::parse(text, dsa) {
        return d.midnight().assume_utc().format(&out).ok();
    }
    None
}

/// Recognises the format of one file from its name and its content (already
/// decompressed). Markers are looked for in the first 8 KiB, except YAML
/// keys, which are looked for in the whole file: a PyPA record may list
/// thousands of versions before its `id`. `None`: not a feed file (a
/// README, a LICENSE, an index).
pub fn detect(path: &str, bytes: &[u8]) -> Option<FeedKind> {
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(8192)]);
    let trimmed = text.trim_start_matches('\u{feff}').trim_start();
    let lower_path = path.to_ascii_lowercase();
    if trimmed.starts_with('{') {
        return detect_json(trimmed);
    }
    if trimmed.starts_with("```toml") || trimmed.starts_with("```TOML") {
        return Some(FeedKind::RustSec);
    }
    if trimmed.starts_with("#model_version") || trimmed.starts_with("cve,epss,percentile") {
        return Some(FeedKind::Epss);
    }
    if trimmed.starts_with("cveID,vendorProject") {
        return Some(FeedKind::KevCsv);
    }
    if is_debian_list(trimmed) {
        return Some(FeedKind::DebianList);
    }
    if lower_path.ends_with(".yaml") || lower_path.ends_with(".yml") || trimmed.starts_with("---") {
        return match std::str::from_utf8(bytes) {
            Ok(whole) => detect_yaml(whole),
            Err(_) => detect_yaml(trimmed),
        };
    }
    None
}

fn detect_json(text: &str) -> Option<FeedKind> {
    let has = |key: &str| text.contains(&format!("\"{key}\""));
    if has("catalogVersion") && has("vulnerabilities") {
        return Some(FeedKind::KevJson);
    }
    if has("NVD_CVE") || (has("resultsPerPage") && has("vulnerabilities")) {
        return Some(FeedKind::Nvd);
    }
    if has("distroversion") && has("packages") {
        return Some(FeedKind::AlpineJson);
    }
    if has("module_name") && (has("vulnerable_versions") || has("patched_versions")) {
        return Some(FeedKind::NodejsNpm);
    }
    if has("vulnerable") && has("patched") && !has("id") {
        return Some(FeedKind::NodejsCore);
    }
    if has("id") && (has("modified") || has("affected") || has("schema_version")) {
        return Some(FeedKind::OsvJson);
    }
    // The tracker's export: `{"pkg": {"CVE-…": {…`.
    let after_package = text[1..].trim_start().strip_prefix('"')?;
    let (_, rest) = after_package.split_once('"')?;
    let rest = rest
        .trim_start()
        .strip_prefix(':')?
        .trim_start()
        .strip_prefix('{')?;
    let rest = rest.trim_start().strip_prefix('"')?;
    (rest.starts_with("CVE-") || rest.starts_with("TEMP-")).then_some(FeedKind::DebianTracker)
}

fn detect_yaml(text: &str) -> Option<FeedKind> {
    let has_key = |key: &str| {
        text.lines().any(|line| {
            line.strip_prefix(key)
                .is_some_and(|rest| rest.starts_with(':'))
        })
    };
    if has_key("distroversion") && has_key("packages") {
        return Some(FeedKind::AlpineYaml);
    }
    if (has_key("gem") || has_key("engine")) && (has_key("url") || has_key("patched_versions")) {
        return Some(FeedKind::RubySec);
    }
    if has_key("id") && (has_key("modified") || has_key("affected")) {
        return Some(FeedKind::OsvYaml);
    }
    None
}

fn is_debian_list(text: &str) -> bool {
    // `[29 Mar 2023] DSA-5380-1 xorg-server - security update`
    let Some(rest) = text.strip_prefix('[') else {
        return false;
    };
    let Some((date, rest)) = rest.split_once(']') else {
        return false;
    };
    normalize_date(date).is_some() && {
        let rest = rest.trim_start();
        rest.starts_with("DSA-") || rest.starts_with("DLA-") || rest.starts_with("DTSA-")
    }
}

/// Parses one file of a known format; `source` names the configured source.
pub fn parse(kind: FeedKind, source: &str, path: &str, bytes: &[u8], out: &mut Parsed) {
    match kind {
        FeedKind::OsvJson => osv::parse_json(source, path, bytes, out),
        FeedKind::OsvYaml => osv::parse_yaml(source, path, bytes, out),
        FeedKind::DebianTracker => debian::parse_tracker(source, path, bytes, out),
        FeedKind::DebianList => debian::parse_list(source, path, bytes, out),
        FeedKind::AlpineJson => alpine::parse_json(source, path, bytes, out),
        FeedKind::AlpineYaml => alpine::parse_yaml(source, path, bytes, out),
        FeedKind::RustSec => rustsec::parse(source, path, bytes, out),
        FeedKind::RubySec => rubysec::parse(source, path, bytes, out),
        FeedKind::NodejsNpm => nodejs::parse_npm(source, path, bytes, out),
        FeedKind::NodejsCore => nodejs::parse_core(source, path, bytes, out),
        FeedKind::Nvd => nvd::parse(source, path, bytes, out),
        FeedKind::Epss => epss::parse(source, path, bytes, out),
        FeedKind::KevJson => kev::parse_json(source, path, bytes, out),
        FeedKind::KevCsv => kev::parse_csv(source, path, bytes, out),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_normalised_to_utc() {
        assert_eq!(
            normalize_date("2021-04-06T13:34:17Z").as_deref(),
            Some("2021-04-06T13:34:17Z")
        );
        assert_eq!(
            normalize_date("2021-04-06T13:34:17.123+02:00").as_deref(),
            Some("2021-04-06T11:34:17Z")
        );
        assert_eq!(
            normalize_date("2023-03-29T12:15:07.123").as_deref(),
            Some("2023-03-29T12:15:07Z")
        );
        assert_eq!(
            normalize_date("2023-03-29").as_deref(),
            Some("2023-03-29T00:00:00Z")
        );
        assert_eq!(
            normalize_date("29 Mar 2023").as_deref(),
            Some("2023-03-29T00:00:00Z")
        );
        assert_eq!(normalize_date("yesterday"), None);
    }
}
