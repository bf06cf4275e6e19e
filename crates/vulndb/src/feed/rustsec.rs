//! RustSec advisories (`crates/<crate>/RUSTSEC-YYYY-NNNN.md`): TOML front
//! matter in a ```` ```toml ```` fence, then Markdown whose first `# ` heading
//! is the summary and whose rest is the details.
//!
//! - `[versions] patched` and `unaffected` become one [`NativeRange`] of
//!   Cargo requirements in ecosystem `crates.io`. With neither (no fix, as
//!   for most `unmaintained` notices) every version is affected, which the
//!   range says explicitly (`vulnerable = "*"`), since an empty native range
//!   matches nothing.
//! - `informational` advisories (`unmaintained`, `unsound`, `notice`) are
//!   not vulnerabilities; they are kept with the note `informational: KIND`.
//! - `[affected] functions` become the entry's symbols (`crate::path::fn`);
//!   `os` and `arch` restrictions go into the note (`os: windows`).
//! - Toolchain advisories (`rust/std/CVE-….md`, `rust/cargo/…`) name no
//!   crate: they are counted apart and not ingested.

use std::collections::BTreeMap;

use portcullis_types::{Advisory, Affected, NativeRange};
use portcullis_version::{Scheme, satisfies};
use serde::Deserialize;

use super::Parsed;
use super::cvss::severity_from_vector;
use super::osv::{clean_ids, null_as_default, timestamp};

const UNIT: &str = "RustSec advisories";
const TOOLCHAIN_UNIT: &str = "RustSec toolchain advisories";

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RawFile {
    advisory: RawAdvisory,
    versions: RawVersions,
    affected: RawAffected,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RawAdvisory {
    id: String,
    package: String,
    url: Option<String>,
    references: Vec<String>,
    aliases: Vec<String>,
    related: Vec<String>,
    cvss: Option<String>,
    informational: Option<String>,
    // `date` and `withdrawn` are read from the table: strings in practice,
    // but bare TOML dates are valid too.
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RawVersions {
    #[serde(deserialize_with = "null_as_default")]
    patched: Vec<String>,
    #[serde(deserialize_with = "null_as_default")]
    unaffected: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RawAffected {
    /// Function paths with the versions in which each is affected.
    functions: BTreeMap<String, Vec<String>>,
    os: Vec<String>,
    arch: Vec<String>,
}

/// Parses one advisory file.
pub(crate) fn parse(source: &str, path: &str, bytes: &[u8], out: &mut Parsed) {
    if is_toolchain(path) {
        out.count(TOOLCHAIN_UNIT);
        return;
    }
    out.count(UNIT);
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text.trim_start_matches('\u{feff}'),
        Err(error) => {
            out.warn(source, path, None, format!("not UTF-8: {error}"));
            return;
        }
    };
    let Some((front, body)) = split_front_matter(text) else {
        out.warn(source, path, None, "no ```toml front matter");
        return;
    };
    let parsed = toml::from_str::<toml::Table>(front).and_then(|table| {
        Ok((
            date_field(&table, "date"),
            date_field(&table, "withdrawn"),
            table.try_into::<RawFile>()?,
        ))
    });
    let (date, withdrawn, raw) = match parsed {
        Ok(parsed) => parsed,
        Err(error) => {
            out.warn(
                source,
                path,
                None,
                format!("invalid front matter: {}", one_line(&error.to_string())),
            );
            return;
        }
    };
    let id = raw.advisory.id.trim();
    let package = raw.advisory.package.trim();
    if id.is_empty() || package.is_empty() {
        out.warn(source, path, None, "front matter lacks `id` or `package`");
        return;
    }
    let mut advisory = Advisory::new(id, source);
    advisory.aliases = clean_ids(raw.advisory.aliases, id);
    advisory.related = clean_ids(raw.advisory.related, id);
    advisory.published = timestamp(date);
    advisory.withdrawn = timestamp(withdrawn);
    for date in [&advisory.published, &advisory.withdrawn]
        .into_iter()
        .flatten()
    {
        out.saw_date(date);
    }
    let (summary, details) = split_body(body);
    advisory.summary = summary;
    advisory.details = details;
    for url in raw.advisory.url.into_iter().chain(raw.advisory.references) {
        let url = url.trim();
        if !url.is_empty() && !advisory.references.iter().any(|known| known == url) {
            advisory.references.push(url.to_owned());
        }
    }
    if let Some(vector) = raw
        .advisory
        .cvss
        .as_deref()
        .filter(|v| !v.trim().is_empty())
    {
        match severity_from_vector("rustsec", vector) {
            Some(severity) => advisory.severities.push(severity),
            None => out.warn(
                source,
                path,
                Some(id),
                format!("invalid CVSS vector `{vector}`"),
            ),
        }
    }

    let mut affected = Affected::new("crates.io", package);
    let mut requirements = Vec::new();
    for requirement in raw.versions.patched.iter().chain(&raw.versions.unaffected) {
        let requirement = requirement.trim();
        if let Err(error) = satisfies(Scheme::Cargo, "0.0.0", requirement) {
            out.warn(
                source,
                path,
                Some(id),
                format!("invalid requirement `{requirement}`: {error}"),
            );
            // The advisory still stands; only its package entry is unusable.
            out.advisories.push(advisory);
            return;
        }
        requirements.push(requirement.to_owned());
    }
    affected.native = Some(NativeRange {
        vulnerable: requirements.is_empty().then(|| "*".to_owned()),
        unaffected: requirements,
    });
    affected.symbols = raw.affected.functions.into_keys().collect();
    let mut notes = Vec::new();
    if let Some(kind) = raw.advisory.informational.as_deref().map(str::trim) {
        notes.push(format!("informational: {kind}"));
    }
    if !raw.affected.os.is_empty() {
        notes.push(format!("os: {}", raw.affected.os.join(", ")));
    }
    if !raw.affected.arch.is_empty() {
        notes.push(format!("arch: {}", raw.affected.arch.join(", ")));
    }
    if !notes.is_empty() {
        affected.note = Some(notes.join("; "));
    }
    advisory.affected.push(affected);
    out.advisories.push(advisory);
}

/// Whether `path` is a toolchain advisory: under `rust/`, not `crates/`,
/// whichever comes first (a crate may be called `rust`).
fn is_toolchain(path: &str) -> bool {
    path.split(['/', '\\'])
        .find(|part| matches!(*part, "crates" | "rust"))
        == Some("rust")
}

/// The TOML between the opening ```` ```toml ```` line and the next ```` ``` ````
/// line, and the Markdown after it.
fn split_front_matter(text: &str) -> Option<(&str, &str)> {
    let text = text.trim_start();
    let rest = text
        .strip_prefix("```toml")
        .or_else(|| text.strip_prefix("```TOML"))?;
    let (_, rest) = rest.split_once('\n')?;
    let mut offset = 0;
    for line in rest.split_inclusive('\n') {
        if line.trim_end() == "```" {
            let front = rest.get(..offset)?;
            let body = rest.get(offset + line.len()..)?;
            return Some((front, body));
        }
        offset += line.len();
    }
    None
}

/// The first `# ` heading, and the Markdown after it (or all of it when there
/// is no heading).
fn split_body(body: &str) -> (Option<String>, Option<String>) {
    let nonempty = |text: &str| {
        let text = text.trim();
        (!text.is_empty()).then(|| text.to_owned())
    };
    let mut offset = 0;
    for line in body.split_inclusive('\n') {
        if let Some(title) = line.trim_end().strip_prefix("# ") {
            let after = body.get(offset + line.len()..).unwrap_or_default();
            return (nonempty(title), nonempty(after));
        }
        offset += line.len();
    }
    (None, nonempty(body))
}

/// A TOML error on one line, without its source excerpt (the lines drawn
/// with `|`).
fn one_line(message: &str) -> String {
    message
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.contains('|'))
        .collect::<Vec<_>>()
        .join(": ")
}

/// `[advisory] KEY` as text: a string as it is, a date as TOML writes it.
fn date_field(table: &toml::Table, key: &str) -> Option<String> {
    match table.get("advisory")?.get(key)? {
        toml::Value::String(text) => Some(text.clone()),
        toml::Value::Datetime(date) => Some(date.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use portcullis_types::{SeverityKind, SeverityLevel};

    fn run(path: &str, text: &str) -> Parsed {
        let mut out = Parsed::default();
        parse("rustsec", path, text.as_bytes(), &mut out);
        out
    }

    const ADVISORY: &str = r#"```toml
[advisory]
id = "RUSTSEC-2021-0001"
package = "mio"
date = "2021-01-05"
url = "https://github.com/tokio-rs/mio/issues/1386"
references = ["https://example.org/a", "https://github.com/tokio-rs/mio/issues/1386"]
categories = ["memory-corruption"]
keywords = ["ffi"]
aliases = ["GHSA-aaaa-bbbb-cccc", "CVE-2021-1234", "CVE-2021-1234"]
related = ["RUSTSEC-2020-0001"]
cvss = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"

[affected]
os = ["windows"]
functions = { "mio::net::TcpStream::connect" = ["< 0.7.7"], "mio::net::UdpSocket::bind" = ["< 0.7.7"] }

[versions]
patched = [">= 0.7.7 "]
unaffected = ["< 0.7.0"]
```

# Memory corruption in `TcpStream::connect`

Some text.

```toml
[not] = "front matter"
```
"#;

    #[test]
    fn advisory_fields() {
        let out = run("crates/mio/RUSTSEC-2021-0001.md", ADVISORY);
        assert!(out.warnings.is_empty(), "{:?}", out.warnings);
        assert_eq!(out.records.get(UNIT), Some(&1));
        let a = &out.advisories[0];
        assert_eq!(a.id, "RUSTSEC-2021-0001");
        assert_eq!(a.aliases, ["CVE-2021-1234", "GHSA-aaaa-bbbb-cccc"]);
        assert_eq!(a.related, ["RUSTSEC-2020-0001"]);
        assert_eq!(a.published.as_deref(), Some("2021-01-05T00:00:00Z"));
        assert_eq!(out.snapshot.as_deref(), Some("2021-01-05T00:00:00Z"));
        assert_eq!(
            a.summary.as_deref(),
            Some("Memory corruption in `TcpStream::connect`")
        );
        let details = a.details.as_deref().unwrap_or_default();
        assert!(details.starts_with("Some text.") && details.ends_with("```"));
        assert_eq!(
            a.references,
            [
                "https://github.com/tokio-rs/mio/issues/1386",
                "https://example.org/a"
            ]
        );
        assert_eq!(a.severities[0].source, "rustsec");
        assert_eq!(a.severities[0].kind, SeverityKind::CvssV3);
        assert_eq!(a.severities[0].level, SeverityLevel::Critical);
        let entry = &a.affected[0];
        assert_eq!(
            (entry.ecosystem.as_str(), entry.package.as_str()),
            ("crates.io", "mio")
        );
        assert_eq!(
            entry.native,
            Some(NativeRange {
                vulnerable: None,
                unaffected: vec![">= 0.7.7".into(), "< 0.7.0".into()],
            })
        );
        assert_eq!(
            entry.symbols,
            ["mio::net::TcpStream::connect", "mio::net::UdpSocket::bind"]
        );
        assert_eq!(entry.note.as_deref(), Some("os: windows"));
    }

    #[test]
    fn informational_without_fix_affects_every_version() {
        let out = run(
            "advisory-db/crates/rust/RUSTSEC-2020-0002.md",
            "```toml\n[advisory]\nid = \"RUSTSEC-2020-0002\"\npackage = \"rust\"\ndate = 2020-02-02\n\
             informational = \"unmaintained\"\nwithdrawn = \"2021-03-04\"\n\n[versions]\npatched = []\n```\n\nNo heading here.\n",
        );
        assert!(out.warnings.is_empty(), "{:?}", out.warnings);
        let a = &out.advisories[0];
        assert_eq!(a.published.as_deref(), Some("2020-02-02T00:00:00Z"));
        assert_eq!(a.withdrawn.as_deref(), Some("2021-03-04T00:00:00Z"));
        assert_eq!(a.summary, None);
        assert_eq!(a.details.as_deref(), Some("No heading here."));
        let entry = &a.affected[0];
        assert_eq!(entry.note.as_deref(), Some("informational: unmaintained"));
        let native = entry.native.as_ref().unwrap();
        assert_eq!(native.vulnerable.as_deref(), Some("*"));
        assert!(portcullis_version::native_affected(Scheme::Cargo, "1.2.3", native).unwrap());
    }

    #[test]
    fn toolchain_advisories_are_counted_apart() {
        let out = run("rustsec/rust/std/CVE-2021-28875.md", ADVISORY);
        assert_eq!(out.records.get(TOOLCHAIN_UNIT), Some(&1));
        assert_eq!(out.records.get(UNIT), None);
        assert!(out.advisories.is_empty() && out.warnings.is_empty());
        assert!(!is_toolchain("crates/rust/RUSTSEC-2020-0002.md"));
    }

    #[test]
    fn malformed_files_warn() {
        let out = run("crates/a/x.md", "# no front matter\n");
        assert_eq!(out.warnings[0].reason, "no ```toml front matter");
        let out = run("crates/a/x.md", "```toml\n[advisory\n```\n");
        assert!(
            out.warnings[0]
                .reason
                .starts_with("invalid front matter: TOML parse error at line 1"),
            "{}",
            out.warnings[0].reason
        );
        assert!(!out.warnings[0].reason.contains('\n'));
        let out = run("crates/a/x.md", "```toml\n[advisory]\nid = \"R-1\"\n");
        assert_eq!(out.warnings.len(), 1);
        let out = run(
            "crates/a/x.md",
            "```toml\n[advisory]\nid = \"R-1\"\npackage = \"a\"\ncvss = \"CVSS:3.1/bad\"\n[versions]\npatched = [\"> = 1\"]\n```\n",
        );
        assert_eq!(out.warnings.len(), 2, "{:?}", out.warnings);
        assert!(out.warnings[1].reason.contains("`> = 1`"));
        // The advisory stays, for its aliases, without the unusable entry.
        assert!(out.advisories[0].affected.is_empty());
        let out = run(
            "crates/a/x.md",
            "\u{feff}```toml\n[advisory]\nid = \"R-1\"\npackage = \"a\"\n```",
        );
        assert!(out.warnings.is_empty());
        assert_eq!(out.records.get(UNIT), Some(&1));
        let mut out = Parsed::default();
        parse("rustsec", "crates/a/x.md", b"\xff\xfe", &mut out);
        assert_eq!(out.warnings.len(), 1);
    }

    #[test]
    fn every_truncation_is_survived() {
        for end in 0..ADVISORY.len() {
            let mut out = Parsed::default();
            parse(
                "rustsec",
                "crates/mio/x.md",
                &ADVISORY.as_bytes()[..end],
                &mut out,
            );
            assert_eq!(out.records.get(UNIT), Some(&1));
        }
    }
}
